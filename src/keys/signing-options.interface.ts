import type { KeyObject } from 'node:crypto';

/**
 * Where a key is in its life: `next` is published (JWKS) but signs nothing yet, so resource servers learn it
 * before its first token; `active` signs (exactly one key); `retired` signs nothing but is still published and
 * accepted until the last token it signed has expired.
 */
export type OAuth2KeyState = 'next' | 'active' | 'retired';

/** Key material: a PEM or secret string, a Buffer, or a `KeyObject`. */
export type OAuth2KeyInput = string | Buffer | KeyObject;

/** HMAC signing: the resource servers must hold the same secret. */
export interface OAuth2HmacSigningOptions {
  algorithm: 'HS256' | 'HS384' | 'HS512';
  /**
   * The shared secret, at least as long as the hash output (RFC 7518 §3.2: 32 bytes for HS256). A string is
   * taken as UTF-8 bytes.
   */
  secret: OAuth2KeyInput;
  /** `kid` header value; required when there are several keys. @default none */
  keyId?: string;
  /** @default 'active' */
  state?: OAuth2KeyState;
}

/**
 * Asymmetric signing: only the authorization server holds the private key; resource servers verify with the
 * public key and cannot mint tokens. Recommended for anything beyond a single process.
 */
export interface OAuth2AsymmetricSigningOptions {
  algorithm:
    'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';
  /** PEM (PKCS#8 or traditional) or a private `KeyObject`. */
  privateKey: OAuth2KeyInput;
  /** The matching public key. @default derived from `privateKey` */
  publicKey?: OAuth2KeyInput;
  /** `kid` header value. @default the RFC 7638 JWK thumbprint of the public key */
  keyId?: string;
  /** @default 'active' */
  state?: OAuth2KeyState;
}

/** One signing key. */
export type OAuth2SigningKeyOptions = OAuth2HmacSigningOptions | OAuth2AsymmetricSigningOptions;

/**
 * The signing key, or every key with its state (exactly one `active`), for teams that rotate keys through
 * their deployment pipeline: add a `next` key, wait the JWKS max-age, make it `active` and the old one
 * `retired`, and remove the retired one once the last token it signed has expired.
 */
export type OAuth2SigningOptions = OAuth2SigningKeyOptions | readonly OAuth2SigningKeyOptions[];
