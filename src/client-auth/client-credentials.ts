import { OAuth2Error } from '../errors/oauth2-error.js';
import { formParameter, readFormBody, type OAuth2HttpRequest } from '../token/form-request.js';

/** Credentials a client presented, by exactly one method (RFC 6749 §2.3). */
export interface PresentedCredentials {
  method: 'basic' | 'body';
  clientId: string;
  /** Absent when the client sent only its id (a public client, §2.1/§3.2.1). */
  clientSecret?: string;
}

/** Why a request carries no usable credentials: each answer is the same 401 invalid_client. */
export type MissingCredentials = 'none' | 'unsupported-scheme' | 'body-disallowed';

const AUTH_PARAM_SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: (.*))?$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * RFC 6749 Appendix B: client id and secret are form-urlencoded before they go into Basic credentials, so
 * `+` is a space and `%XX` an octet of UTF-8.
 */
export function decodeFormComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw OAuth2Error.invalidRequest('The client credentials are not correctly form-urlencoded');
  }
}

/**
 * Parses `Authorization: Basic <base64(id:secret)>` (RFC 7617 §2): the scheme is case-insensitive, the
 * base64 must be canonical, the user-pass splits at the first colon, and both halves are Appendix B decoded.
 * Returns undefined for another scheme; a malformed Basic header is a 400 invalid_request.
 */
export function parseBasicAuthorization(
  header: string,
): { clientId: string; clientSecret: string } | undefined {
  const match = AUTH_PARAM_SCHEME.exec(header);
  if (!match) throw OAuth2Error.invalidRequest('The Authorization header is malformed');
  if (match[1].toLowerCase() !== 'basic') return undefined;
  const token = match[2] ?? '';
  const bytes = Buffer.from(token, 'base64');
  // Node's decoder skips what it cannot read; a round trip to the same text proves canonical base64
  // (RFC 4648 §3.5: padding present, no stray characters, unused bits zero).
  if (token === '' || bytes.toString('base64') !== token) {
    throw OAuth2Error.invalidRequest('The Basic credentials are not valid base64');
  }
  let userPass: string;
  try {
    userPass = utf8.decode(bytes);
  } catch {
    throw OAuth2Error.invalidRequest('The Basic credentials are not valid UTF-8');
  }
  const colon = userPass.indexOf(':');
  if (colon <= 0) throw OAuth2Error.invalidRequest('The Basic credentials lack a client id');
  return {
    clientId: decodeFormComponent(userPass.slice(0, colon)),
    clientSecret: decodeFormComponent(userPass.slice(colon + 1)),
  };
}

/**
 * Finds the one authentication method a token request uses. A Basic header next to a body `client_secret`
 * is refused rather than silently preferring one (RFC 6749 §2.3: a client MUST NOT use more than one method);
 * a body `client_id` next to Basic must name the same client. The query string is never read.
 */
export function readClientCredentials(
  request: OAuth2HttpRequest,
  allowCredentialsInBody: boolean,
): PresentedCredentials | MissingCredentials {
  const body = readFormBody(request);
  const bodyId = formParameter(body, 'client_id');
  const bodySecret = formParameter(body, 'client_secret');
  const header = request.headers.authorization;

  if (header !== undefined) {
    const basic = parseBasicAuthorization(String(header));
    if (!basic) return 'unsupported-scheme';
    if (bodySecret !== undefined) {
      throw OAuth2Error.invalidRequest('Client credentials were sent by more than one method');
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw OAuth2Error.invalidRequest(
        'The client_id parameter does not match the Basic credentials',
      );
    }
    return { method: 'basic', clientId: basic.clientId, clientSecret: basic.clientSecret };
  }
  if (bodyId === undefined) return 'none';
  if (bodySecret === undefined) return { method: 'body', clientId: bodyId };
  if (!allowCredentialsInBody) return 'body-disallowed';
  return { method: 'body', clientId: bodyId, clientSecret: bodySecret };
}
