import { isAscii } from 'node:buffer';
import { MalformedRequestError } from './http-request.js';

/** The `Authorization` header split into its scheme (lower case) and credentials (RFC 9110 §11.6.2). */
export interface AuthorizationHeader {
  scheme: string;
  credentials: string;
}

/** RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]; auth-scheme = token. */
const AUTH_SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The one auth-scheme rule of the library, for Basic and Bearer alike. Undefined when there is no header; a
 * header that is not `scheme [1*SP credentials]` is malformed. Scheme names compare case-insensitively
 * (RFC 9110 §11.1).
 */
export function parseAuthorization(
  header: string | string[] | undefined,
): AuthorizationHeader | undefined {
  if (header === undefined) return undefined;
  const match = AUTH_SCHEME.exec(String(header));
  if (!match) throw new MalformedRequestError('The Authorization header is malformed');
  return { scheme: match[1].toLowerCase(), credentials: match[2] ?? '' };
}

/**
 * RFC 6749 Appendix B: client id and secret are form-urlencoded before they go into Basic credentials, so
 * `+` is a space and `%XX` an octet of UTF-8.
 */
export function decodeFormComponent(value: string): string {
  // Most ids and secrets hold neither: nothing to decode.
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new MalformedRequestError('The client credentials are not correctly form-urlencoded');
  }
}

/**
 * The `Authorization` header a client sends with client_secret_basic (RFC 6749 §2.3.1): id and secret each
 * form-urlencoded (Appendix B), then joined by a colon and base64-encoded. `parseBasicCredentials` reads it.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/** A client's id and secret, as client_secret_basic sends them. */
export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Basic credentials (RFC 7617 §2) as RFC 6749 §2.3.1 defines them for clients: the base64 must be
 * canonical, the user-pass splits at the FIRST colon (a secret may hold colons), and both halves are
 * Appendix B decoded.
 */
export function parseBasicCredentials(credentials: string): BasicCredentials {
  const bytes = Buffer.from(credentials, 'base64');
  // Node's decoder skips what it cannot read; a round trip to the same text proves canonical base64
  // (RFC 4648 §3.5: padding present, no stray characters, unused bits zero).
  if (credentials === '' || bytes.toString('base64') !== credentials) {
    throw new MalformedRequestError('The Basic credentials are not valid base64');
  }
  let userPass: string;
  try {
    // ASCII (what form-urlencoded credentials are) is UTF-8 already; anything else is decoded strictly.
    userPass = isAscii(bytes) ? bytes.toString('latin1') : utf8.decode(bytes);
  } catch {
    throw new MalformedRequestError('The Basic credentials are not valid UTF-8');
  }
  const colon = userPass.indexOf(':');
  if (colon <= 0) throw new MalformedRequestError('The Basic credentials lack a client id');
  return {
    clientId: decodeFormComponent(userPass.slice(0, colon)),
    clientSecret: decodeFormComponent(userPass.slice(colon + 1)),
  };
}

/** Basic credentials already read, by request: throttling reads the client id before the strategy runs. */
const basicCredentials = new WeakMap<object, { header: string; credentials: BasicCredentials }>();

/**
 * The Basic credentials of a request's Authorization header (`parseBasicCredentials`), read once per request
 * however many readers ask; undefined when the header is absent or of another scheme. Throws a
 * MalformedRequestError for a malformed header or credentials, every time it is asked.
 */
export function basicCredentialsOf(request: {
  headers: { authorization?: string | string[] };
}): BasicCredentials | undefined {
  const header = request.headers.authorization;
  const known = basicCredentials.get(request);
  if (known !== undefined && known.header === header) return known.credentials;
  const authorization = parseAuthorization(header);
  if (authorization?.scheme !== 'basic') return undefined;
  const credentials = parseBasicCredentials(authorization.credentials);
  basicCredentials.set(request, { header: header as string, credentials });
  return credentials;
}

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The access token of `Authorization: Bearer <b64token>` (RFC 6750 §2.1). */
export function parseBearerCredentials(credentials: string): string {
  if (!B64TOKEN.test(credentials)) {
    throw new MalformedRequestError('The Bearer credentials are malformed');
  }
  return credentials;
}
