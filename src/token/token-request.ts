import { HttpStatus } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { formParameter, formParameters, readFormBody, type FormBody } from '../http/form-body.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';

export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

/** A token request (RFC 6749 §4.4.2), read from its form body once. */
export interface TokenRequest {
  grantType: typeof CLIENT_CREDENTIALS_GRANT;
  /** The `scope` parameter as sent; absent when not sent (or sent empty). */
  scope?: string;
  /** The RFC 8707 `resource` parameters, each an absolute URI without a fragment; none when not sent. */
  resources: string[];
}

/** A token reference for revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1). */
export interface TokenReference {
  token: string;
  /** `token_type_hint` as sent: a hint only, any value accepted (RFC 7009 §2.1, RFC 7662 §2.1). */
  tokenTypeHint?: string;
}

/** The client authentication parameters every endpoint that authenticates clients reads (§2.3, RFC 7523). */
const CLIENT_PARAMETERS = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
] as const;
/** Parameters the token endpoint defines that may appear once (§3.2); unknown ones are ignored. */
const SINGLE_PARAMETERS = ['grant_type', 'scope', ...CLIENT_PARAMETERS];
/** RFC 8707 §2: `resource` may repeat, one target each. */
const RESOURCE = 'resource';
/** RFC 7009 §2.1 and RFC 7662 §2.1 define the same two parameters. */
const TOKEN_REFERENCE_PARAMETERS = ['token', 'token_type_hint', ...CLIENT_PARAMETERS];
const SUPPORTED_GRANTS: ReadonlySet<string> = new Set([CLIENT_CREDENTIALS_GRANT]);
/**
 * A request to an endpoint is a few hundred bytes (a token reference a few kB). The platform's own body limit (Express 100 kB, Fastify 1 MiB)
 * applies first; these bound what the endpoint accepts on any platform.
 */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_PARAMETERS = 100;

/**
 * Reads the token request: a form body within the limits, no repeated parameter, and a grant type this server
 * supports (names compare exactly: §3.2 and §4.4.2 define them case-sensitive).
 */
export function parseTokenRequest(request: OAuth2HttpRequest): TokenRequest {
  const body = readEndpointForm(request, SINGLE_PARAMETERS, [RESOURCE]);
  const grantType = formParameter(body, 'grant_type');
  if (grantType === undefined) {
    throw new MalformedRequestError('The grant_type parameter is missing');
  }
  if (!SUPPORTED_GRANTS.has(grantType)) throw OAuth2Error.unsupportedGrantType();
  const resources = formParameters(body, RESOURCE);
  for (const resource of resources) checkResource(resource);
  return {
    grantType: CLIENT_CREDENTIALS_GRANT,
    scope: formParameter(body, 'scope'),
    resources: [...new Set(resources)],
  };
}

/**
 * Reads a revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1) request: a form body within the limits,
 * no repeated parameter, and `token` (REQUIRED). `token_type_hint` is a hint only: an unknown value is ignored.
 */
export function parseTokenReference(request: OAuth2HttpRequest): TokenReference {
  const body = readEndpointForm(request, TOKEN_REFERENCE_PARAMETERS);
  const token = formParameter(body, 'token');
  if (token === undefined) throw new MalformedRequestError('The token parameter is missing');
  const tokenTypeHint = formParameter(body, 'token_type_hint');
  return tokenTypeHint === undefined ? { token } : { token, tokenTypeHint };
}

/**
 * The form body of a request to one of the endpoints (RFC 6749 §3.2): within the size limits, each of `single`
 * at most once (§3.1), and no bracketed form of a defined parameter.
 */
function readEndpointForm(
  request: OAuth2HttpRequest,
  single: readonly string[],
  repeatable: readonly string[] = [],
): FormBody {
  const body = readFormBody(request);
  checkShape(request, body, [...single, ...repeatable]);
  for (const name of single) formParameter(body, name);
  return body;
}

/** RFC 8707 §2: an absolute URI (RFC 3986 §4.3) without a fragment, else invalid_target. */
function checkResource(resource: string): void {
  if (
    resource.includes('#') ||
    !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(resource) ||
    !URL.canParse(resource)
  ) {
    throw OAuth2Error.invalidTarget('Each resource must be an absolute URI without a fragment');
  }
}

function checkShape(request: OAuth2HttpRequest, body: FormBody, defined: readonly string[]): void {
  const declared = request.headers['content-length'];
  const keys = Object.keys(body);
  // Without Content-Length (a chunked body) measure what was parsed.
  const size = declared === undefined ? parsedSize(body) : Number(declared);
  if (size > MAX_BODY_BYTES || keys.length > MAX_PARAMETERS) {
    throw new MalformedRequestError('The request body is too large', HttpStatus.PAYLOAD_TOO_LARGE);
  }
  for (const key of keys) {
    // `scope[]=a` or `scope[x]=a`: Express's parser makes these an array or object of `scope`, Fastify's
    // keeps the bracketed name. Either way it is a malformed defined parameter.
    const bracket = key.indexOf('[');
    if (bracket > 0 && defined.includes(key.slice(0, bracket))) {
      throw new MalformedRequestError(
        `The ${key.slice(0, bracket)} parameter is repeated or malformed`,
      );
    }
  }
}

/** Bytes of the parsed names and values: a lower bound of the encoded body. */
function parsedSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value !== 'object' || value === null) return 0;
  let size = 0;
  for (const [key, item] of Object.entries(value))
    size += Buffer.byteLength(key) + parsedSize(item);
  return size;
}
