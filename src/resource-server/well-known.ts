/** RFC 8414 §3: where an authorization server publishes its metadata. */
export const AUTHORIZATION_SERVER_METADATA = 'oauth-authorization-server';
/** RFC 9728 §3: where a protected resource publishes its metadata. */
export const PROTECTED_RESOURCE_METADATA = 'oauth-protected-resource';

/**
 * The well-known URL of an identifier (RFC 8414 §3.1, RFC 9728 §3.1): `/.well-known/<suffix>` inserted
 * between the host and the path, after any terminating `/` of the path is removed; a query stays last.
 * `https://auth.example.com/tenant/` → `https://auth.example.com/.well-known/<suffix>/tenant`.
 */
export function wellKnownUrl(identifier: string, suffix: string): string {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/${suffix}${path}${url.search}`;
}
