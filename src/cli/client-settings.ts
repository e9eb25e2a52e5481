import { CLIENT_ASSERTION_ALGORITHMS } from '../client-auth/client-key-sets.js';
import { readJwks } from '../keys/jwks-document.js';
import { CliError } from './cli-error.js';

/** RFC 7518 §6.2.2, §6.3.2, §6.4: members only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** The entity's bound on the stored JWK Set. */
const MAX_JWKS_LENGTH = 65536;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * `--audience "<uri> <uri>"`: absolute URIs without a fragment (RFC 8707 §2), space-separated, each once; the
 * first is the default audience. Stored single-space separated, as given otherwise (the `resource` a client
 * sends is compared with them as strings).
 */
export function parseAudience(text: string, option: string): string {
  const uris = text.split(/\s+/).filter(Boolean);
  if (uris.length === 0) throw new CliError(`${option} needs at least one URI`);
  for (const uri of uris) {
    // RFC 3986 §4.3: absolute-URI = scheme ":" hier-part [ "?" query ], so no fragment.
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) || !URL.canParse(uri) || uri.includes('#')) {
      throw new CliError(
        `${option}: '${uri}' is not an absolute URI without a fragment (RFC 8707 §2)`,
      );
    }
  }
  const twice = uris.find((uri, index) => uris.indexOf(uri) !== index);
  if (twice !== undefined) throw new CliError(`${option}: '${twice}' is given twice`);
  return uris.join(' ');
}

/**
 * `--jwks-uri`: https, or http on a loopback host only (a development client); no credentials, no fragment.
 * RFC 7591 §2: the client's JWK Set document.
 */
export function parseJwksUri(text: string, option: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`${option}: '${text}' is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new CliError(`${option} must be an https URL (http only on a loopback host)`);
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    throw new CliError(`${option} must not hold credentials or a fragment`);
  }
  return url.href;
}

/**
 * The JWK Set a `--jwks-file` holds (RFC 7517 §5): public signature keys only, each fitting RS256, PS256 or
 * ES256 and importable (jose). A private or symmetric key refuses the whole file: the client's private key
 * belongs with the client alone. Messages name a key by its kid or position, never its material.
 *
 * @returns the set as compact JSON, as the `jwks` column stores it
 */
export async function parseJwksDocument(text: string, source: string): Promise<string> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new CliError(`${source} is not valid JSON`);
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== 'object' || document === null || !Array.isArray(keys)) {
    throw new CliError(`${source} is not a JWK Set: a JSON object with a "keys" array`);
  }
  if (keys.length === 0) throw new CliError(`${source} holds no key`);
  const secret = keys.findIndex(
    (key) => typeof key === 'object' && key !== null && PRIVATE_MEMBERS.some((name) => name in key),
  );
  if (secret !== -1) {
    throw new CliError(
      `${source}: key #${secret + 1} holds private or symmetric key material: give the public keys only`,
    );
  }
  const { ignored } = await readJwks(document, CLIENT_ASSERTION_ALGORITHMS);
  if (ignored.length > 0) {
    throw new CliError(
      `${source}: ${ignored.join('; ')} (public RS256, PS256 or ES256 signature keys only)`,
    );
  }
  const stored = JSON.stringify({ keys });
  if (stored.length > MAX_JWKS_LENGTH) {
    throw new CliError(`${source} is longer than ${MAX_JWKS_LENGTH} characters: use --jwks-uri`);
  }
  return stored;
}
