/**
 * RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
 * Tokens are case-sensitive and their order carries no meaning.
 */
export const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/** Parses a scope parameter that already matched SCOPE_PATTERN; duplicates collapse, order is kept. */
export function parseScope(scope: string | null | undefined): string[] {
  if (!scope) return [];
  return [...new Set(scope.split(' '))];
}

/** Reads a stored space-separated list (scope, grant_types), tolerant of extra white space. */
export function parseStoredList(value: string | null | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(/\s+/).filter(Boolean))];
}

/**
 * The scopes to grant (RFC 6749 §3.3): what was requested, when the client may have all of it; the client's
 * whole registered scope when nothing was requested. undefined means the request asks for more than the
 * client may have.
 */
export function grantScopes(
  requested: string | undefined,
  clientScope: string | null,
): string[] | undefined {
  const allowed = parseStoredList(clientScope);
  if (requested === undefined) return allowed;
  const wanted = parseScope(requested);
  const allowedSet = new Set(allowed);
  return wanted.every((scope) => allowedSet.has(scope)) ? wanted : undefined;
}
