import type { OAuth2HttpRequest } from './http-request.js';

/**
 * Whether the request's query string has the parameter: from the platform's parsed `query` (Express and
 * Fastify both set one), else from the URL.
 */
export function hasQueryParameter(request: OAuth2HttpRequest, name: string): boolean {
  const query = request.query;
  if (typeof query === 'object' && query !== null) return Object.hasOwn(query, name);
  if (typeof request.url !== 'string') return false;
  const search = request.url.indexOf('?');
  return search >= 0 && new URLSearchParams(request.url.slice(search + 1)).has(name);
}
