import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  KeyObject,
  type JsonWebKey,
  type KeyPairKeyObjectResult,
} from 'node:crypto';
import { promisify } from 'node:util';
import type {
  OAuth2KeyInput,
  OAuth2KeyState,
  OAuth2SigningKeyOptions,
} from './signing-options.interface.js';

export type OAuth2SigningAlgorithm = OAuth2SigningKeyOptions['algorithm'];

/**
 * One key, its material resolved once. jsonwebtoken re-parses a string or PEM key on every call, which makes
 * signing and verifying dozens of times slower than with a ready `KeyObject`.
 */
export interface SigningKey {
  /** The `kid` of the tokens it signs; an HMAC key configured without one has none. */
  kid?: string;
  algorithm: OAuth2SigningAlgorithm;
  state: OAuth2KeyState;
  /** The private key, or the HMAC secret. */
  signingKey: KeyObject;
  /** The public key, or the HMAC secret. */
  verificationKey: KeyObject;
}

const KEY_STATES: ReadonlySet<string> = new Set(['next', 'active', 'retired']);

const HMAC_MIN_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const;
/** The curve each ECDSA algorithm needs (RFC 7518 §3.4), by Node's name. */
export const EC_CURVES = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' } as const;
export const RSA_MIN_BITS = 2048;

/** The algorithms the module signs with: HMAC (a secret shared with resource servers) or asymmetric. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

const spki = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' });

/** One key's options checked and resolved: the algorithm, the key's fit, the pair, the state. */
export function resolveSigningKey(signing: OAuth2SigningKeyOptions): SigningKey {
  if (!signing || typeof signing !== 'object') {
    throw new Error('OAuth2Module: `signing` is required');
  }
  const state = signing.state ?? 'active';
  if (!KEY_STATES.has(state)) {
    throw new Error('OAuth2Module: a signing key `state` is next, active or retired');
  }
  if ('secret' in signing) {
    const minBytes = HMAC_MIN_BYTES[signing.algorithm];
    if (!minBytes)
      throw new Error(`OAuth2Module: unsupported signing algorithm ${signing.algorithm}`);
    const key = toSecretKey(signing.secret);
    // RFC 7518 §3.2: a key of the same size as the hash output or larger.
    if ((key.symmetricKeySize ?? 0) < minBytes) {
      throw new Error(
        `OAuth2Module: an ${signing.algorithm} secret needs at least ${minBytes} bytes`,
      );
    }
    return {
      kid: signing.keyId,
      algorithm: signing.algorithm,
      state,
      signingKey: key,
      verificationKey: key,
    };
  }
  const { algorithm } = signing;
  if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new Error(`OAuth2Module: unsupported signing algorithm ${String(algorithm)}`);
  }
  const privateKey = toKey(signing.privateKey, 'private');
  checkKeyFitsAlgorithm(privateKey, algorithm);
  const derived = createPublicKey(privateKey);
  const publicKey = signing.publicKey ? toKey(signing.publicKey, 'public') : derived;
  if (!spki(publicKey).equals(spki(derived))) {
    throw new Error('OAuth2Module: publicKey does not match privateKey');
  }
  return {
    kid: signing.keyId ?? jwkThumbprint(publicKey),
    algorithm,
    state,
    signingKey: privateKey,
    verificationKey: publicKey,
  };
}

function toSecretKey(input: OAuth2KeyInput): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'secret')
      throw new Error('OAuth2Module: an HMAC secret must be a secret key');
    return input;
  }
  return createSecretKey(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
}

function toKey(input: OAuth2KeyInput, type: 'private' | 'public'): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== type) throw new Error(`OAuth2Module: expected a ${type} key`);
    return input;
  }
  try {
    return type === 'private' ? createPrivateKey(input) : createPublicKey(input);
  } catch {
    // The parser's message may quote key material: say only what was wrong.
    throw new Error(`OAuth2Module: the ${type} signing key could not be read (expected PEM)`);
  }
}

/** Throws unless the private key can sign with the algorithm: the right curve, or RSA of 2048 bits or more. */
export function checkKeyFitsAlgorithm(key: KeyObject, algorithm: OAuth2SigningAlgorithm): void {
  const family = algorithm.slice(0, 2);
  const details = key.asymmetricKeyDetails ?? {};
  if (family === 'ES') {
    const curve = EC_CURVES[algorithm as keyof typeof EC_CURVES];
    if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== curve) {
      throw new Error(`OAuth2Module: ${algorithm} needs an EC key on curve ${curve}`);
    }
    return;
  }
  // A plain RSA key serves RS* and PS* alike. Keys restricted to RSA-PSS are refused: Node cannot export them
  // as a JWK (so no RFC 7638 kid), and their hash restrictions could clash with the algorithm.
  if (key.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < RSA_MIN_BITS) {
    throw new Error(`OAuth2Module: ${algorithm} needs an RSA key of at least ${RSA_MIN_BITS} bits`);
  }
}

/** RFC 7638 JWK thumbprint (SHA-256) of a public key: a stable `kid` that needs no configuration. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A new private key for the algorithm: on its curve (ES*), or RSA of 2048 bits (RS*, PS*: the size RFC 7518
 * §3.3 requires, and the cheapest to verify). Generated off the event loop.
 */
export async function generatePrivateKey(
  algorithm: (typeof ASYMMETRIC_ALGORITHMS)[number],
): Promise<KeyObject> {
  const curve = (EC_CURVES as Readonly<Record<string, string>>)[algorithm];
  const pair: KeyPairKeyObjectResult =
    curve !== undefined
      ? await generateKeyPairAsync('ec', { namedCurve: curve })
      : await generateKeyPairAsync('rsa', { modulusLength: RSA_MIN_BITS });
  return pair.privateKey;
}
