import { importJWK, type JWK } from 'jose';
import { RemoteDocumentError } from './bounded-fetch.js';

/**
 * The signature algorithms a public key of a JWK Set can verify (RFC 7518 §3.1), never `none` or HS*: RFC
 * 9068's mandatory RS256 first, then the cheaper or more common ones.
 */
export const JWKS_ALGORITHMS = [
  'RS256',
  'PS256',
  'ES256',
  'RS384',
  'RS512',
  'PS384',
  'PS512',
  'ES384',
  'ES512',
] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

/** RFC 7518 §6.2.2, §6.3.2: the members only a private key has. Their presence refuses the whole set. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];
/** The curve each ECDSA algorithm needs (RFC 7518 §3.4). */
const EC_CURVES: Readonly<Record<string, string>> = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
};
/** A key id or algorithm shown in a log line only when it is short, printable text. */
const SHOWABLE = /^[\x21-\x7E]{1,64}$/;

/** The keys of a JWK Set one may verify with, and why each other key was passed over. */
export interface JwksReading {
  keys: JWK[];
  /** One sentence per key passed over, for the log; never key material. */
  ignored: string[];
}

/**
 * Reads a JWK Set (RFC 7517 §5) of a token issuer or of a client signing its assertions, keeping only public
 * signature keys that fit an allowed algorithm. A set that holds a private key is refused whole: whoever
 * published it leaked a secret, and nothing else it says can be trusted. Keys sharing a `kid` are all passed over: no one can tell which is
 * meant (§4.5).
 */
export async function readJwks(
  document: unknown,
  algorithms: readonly JwksAlgorithm[],
): Promise<JwksReading> {
  const members = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== 'object' || document === null || !Array.isArray(members)) {
    throw new RemoteDocumentError('answered with a document that is not a JWK Set');
  }
  if (members.some((key) => isObject(key) && PRIVATE_MEMBERS.some((name) => name in key))) {
    throw new RemoteDocumentError('published private key material: the whole JWK Set is refused');
  }
  const ignored: string[] = [];
  const usable: JWK[] = [];
  for (const [index, key] of members.entries()) {
    const problem = await problemOf(key, algorithms);
    if (problem === undefined) usable.push(key as JWK);
    else ignored.push(`${nameOf(key, index)} ${problem}`);
  }
  const kids = usable.map((key) => key.kid);
  const keys = usable.filter((key) => {
    const duplicated = key.kid !== undefined && kids.indexOf(key.kid) !== kids.lastIndexOf(key.kid);
    if (duplicated)
      ignored.push(`${nameOf(key, members.indexOf(key))} shares its kid with another key`);
    return !duplicated;
  });
  return { keys, ignored };
}

/** Why the key cannot verify our tokens, or undefined when it can. */
async function problemOf(
  key: unknown,
  algorithms: readonly JwksAlgorithm[],
): Promise<string | undefined> {
  if (!isObject(key)) return 'is not a JSON object';
  if (key.kid !== undefined && typeof key.kid !== 'string') return 'has a kid that is not a string';
  if (key.kty === 'oct') return 'is a symmetric (oct) key';
  if (key.kty !== 'RSA' && key.kty !== 'EC') return 'has a key type other than RSA or EC';
  if (key.use !== undefined && key.use !== 'sig') return 'is not a signature key (use)';
  if (
    key.key_ops !== undefined &&
    !(Array.isArray(key.key_ops) && key.key_ops.includes('verify'))
  ) {
    return 'is not a verification key (key_ops)';
  }
  // RFC 7518 §3.3, §3.5: 2048 bits at least.
  if (key.kty === 'RSA' && Buffer.from(String(key.n), 'base64url').length < 256) {
    return 'is an RSA key shorter than 2048 bits';
  }
  const fitting = algorithms.filter((algorithm) => fits(key, algorithm));
  if (key.alg !== undefined && !fitting.includes(key.alg as JwksAlgorithm)) {
    const alg = typeof key.alg === 'string' && SHOWABLE.test(key.alg) ? key.alg : 'that';
    return `is for the algorithm ${alg}, which is not allowed here or does not fit the key`;
  }
  if (fitting.length === 0) return 'fits none of the allowed algorithms';
  try {
    await importJWK(key as JWK, (key.alg as string | undefined) ?? fitting[0]);
    return undefined;
  } catch {
    return 'is not a valid public key';
  }
}

function fits(key: Record<string, unknown>, algorithm: string): boolean {
  return key.kty === 'RSA' ? /^(RS|PS)/.test(algorithm) : key.crv === EC_CURVES[algorithm];
}

function nameOf(key: unknown, index: number): string {
  const kid = isObject(key) ? key.kid : undefined;
  return typeof kid === 'string' && SHOWABLE.test(kid) ? `key ${kid}` : `key #${index + 1}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
