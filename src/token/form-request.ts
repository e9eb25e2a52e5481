import { OAuth2Error } from '../errors/oauth2-error.js';

/** The parts of an Express or Fastify request the library reads. */
export interface OAuth2HttpRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  [key: string | symbol]: unknown;
}

const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded[ \t]*(?:;|$)/i;

export function isFormRequest(request: OAuth2HttpRequest): boolean {
  const contentType = request.headers['content-type'];
  return typeof contentType === 'string' && FORM_CONTENT_TYPE.test(contentType);
}

/**
 * The parsed body of an `application/x-www-form-urlencoded` request (RFC 6749 §3.2: the token endpoint takes
 * nothing else). Express and Fastify have parsed it already; a request with no body reads as empty.
 */
export function readFormBody(request: OAuth2HttpRequest): Record<string, unknown> {
  if (!isFormRequest(request)) {
    throw OAuth2Error.invalidRequest('The request body must be application/x-www-form-urlencoded');
  }
  const { body } = request;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw OAuth2Error.invalidRequest('The request body could not be read as a form');
  }
  return body as Record<string, unknown>;
}

/**
 * One defined parameter. RFC 6749 §3.1/§3.2: parameters must not be repeated; body parsers turn a repeated
 * (`a=1&a=2`) or bracketed (`a[]=1`, `a[b]=1`) name into an array or object, and both are refused. An empty
 * value counts as absent.
 */
export function formParameter(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const value = body[name];
  if (typeof value !== 'string') {
    throw OAuth2Error.invalidRequest(`The ${name} parameter is repeated or malformed`);
  }
  return value === '' ? undefined : value;
}
