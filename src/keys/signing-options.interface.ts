import type { KeyObject } from 'node:crypto';

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
  /** `kid` header value. @default none */
  keyId?: string;
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
}

export type OAuth2SigningOptions = OAuth2HmacSigningOptions | OAuth2AsymmetricSigningOptions;
