import { MalformedRequestError, type OAuth2HttpRequest } from './http-request.js';

/** A parsed `application/x-www-form-urlencoded` body, as Express or Fastify leave it. */
export type FormBody = Readonly<Record<string, unknown>>;

const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded[ \t]*(?:;|$)/i;

export function isFormRequest(request: OAuth2HttpRequest): boolean {
  const contentType = request.headers['content-type'];
  return typeof contentType === 'string' && FORM_CONTENT_TYPE.test(contentType);
}

/**
 * The parsed body of an `application/x-www-form-urlencoded` request (RFC 6749 §3.2: the token endpoint takes
 * nothing else). A request with no body reads as empty.
 */
export function readFormBody(request: OAuth2HttpRequest): FormBody {
  if (!isFormRequest(request)) {
    throw new MalformedRequestError('The request body must be application/x-www-form-urlencoded');
  }
  return formFields(request) ?? {};
}

/** The form fields of a form request, else undefined: for detecting what a request carries. */
export function formFields(request: OAuth2HttpRequest): FormBody | undefined {
  if (!isFormRequest(request)) return undefined;
  const { body } = request;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new MalformedRequestError('The request body could not be read as a form');
  }
  return body as FormBody;
}

/**
 * One defined parameter. RFC 6749 §3.1/§3.2: parameters must not be repeated; body parsers turn a repeated
 * (`a=1&a=2`) or bracketed (`a[]=1`, `a[b]=1`) name into an array or object, and both are refused. An empty
 * value counts as absent.
 */
export function formParameter(body: FormBody, name: string): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const value = body[name];
  if (typeof value !== 'string') {
    throw new MalformedRequestError(`The ${name} parameter is repeated or malformed`);
  }
  return value === '' ? undefined : value;
}

/** Whether the body names the parameter at all (even malformed or empty): what a request carries. */
/**
 * Every value of a parameter that may repeat (RFC 8707 §2 `resource`), in order; none when absent. Each must be
 * a plain string (a bracketed `name[x]` is malformed).
 */
export function formParameters(body: FormBody, name: string): string[] {
  if (!Object.hasOwn(body, name)) return [];
  const value = body[name];
  const values = Array.isArray(value) ? value : [value];
  if (values.some((item) => typeof item !== 'string')) {
    throw new MalformedRequestError(`The ${name} parameter is malformed`);
  }
  return values as string[];
}

export function hasFormParameter(body: FormBody | undefined, name: string): boolean {
  return body !== undefined && Object.hasOwn(body, name) && body[name] !== '';
}
