import { CompactSign, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * What is wrong with a token of `flawedAccessToken()`, each answered by the real guard as RFC 6750 §3.1 says:
 *
 * - `expired`: `exp` in the past, beyond the clock tolerance → 401 `invalid_token` (RFC 9068 §4);
 * - `wrong_audience`: `aud` names another resource → 401 `invalid_token` (RFC 9068 §4, RFC 8707);
 * - `wrong_issuer`: `iss` names another authorization server → 401 `invalid_token` (RFC 9068 §4);
 * - `bad_signature`: the right key id, signed with another key (a forgery) → 401 `invalid_token`;
 * - `unknown_key`: signed with a key the app does not know, under a key id it does not know → 401 `invalid_token`;
 * - `missing_scope`: valid, but with no scope at all → 403 `insufficient_scope` on any `@Scopes()` route.
 */
export type OAuth2TestTokenFlaw =
  'expired' | 'wrong_audience' | 'wrong_issuer' | 'bad_signature' | 'unknown_key' | 'missing_scope';

/** Every flaw, for a table-driven test (`test.each(OAUTH2_TEST_TOKEN_FLAWS)`). */
export const OAUTH2_TEST_TOKEN_FLAWS: readonly OAuth2TestTokenFlaw[] = [
  'expired',
  'wrong_audience',
  'wrong_issuer',
  'bad_signature',
  'unknown_key',
  'missing_scope',
];

/** The `aud` of a `wrong_audience` token: under `.invalid`, which names nothing (RFC 2606 §2). */
export const WRONG_AUDIENCE = 'https://wrong-audience.invalid';
/** The `iss` of a `wrong_issuer` token. */
export const WRONG_ISSUER = 'https://wrong-issuer.invalid';
/** The `kid` of an `unknown_key` token. */
export const UNKNOWN_KEY_ID = 'oauth2-test-unknown-key';

/** What a test token is for; every field has a default, so `accessToken()` alone is a valid token. */
export interface OAuth2TestTokenOptions {
  /** `client_id`: the calling client. It needs no record in any storage. @default 'test-client' */
  clientId?: string;
  /** The granted scopes (`scope`, RFC 9068 §2.2.3); none gives a token without `scope`. @default [] */
  scopes?: readonly string[];
  /** `sub` (RFC 9068 §2.2). @default the client id */
  subject?: string;
  /** `aud`: the resource or resources the token is for (RFC 8707). @default the app's audience */
  audience?: string | readonly string[];
  /** Seconds from `iat` to `exp`. @default the app's access token lifetime */
  lifetime?: number;
  /**
   * More claims, merged last: they may replace any claim, registered ones included (an `nbf` in the future,
   * say), and one given as undefined is left out (a token without `exp`), for a failing case the flaws do not
   * cover. The token is then signed again with the same key.
   */
  claims?: Record<string, unknown>;
}

/** A key the token's signature is made with. */
export interface OAuth2TestSigningKey {
  /** The JWS `alg` (RFC 7518 §3.1). */
  algorithm: string;
  /** A private key, or an HMAC secret. */
  key: KeyObject;
  /** The `kid` header; none when undefined. */
  kid: string | undefined;
}

/**
 * Mints access tokens in tests, with no database and no network: valid ones, and the flawed ones a team wants
 * to see refused. `OAuth2TestTokens` mints with an `OAuth2Module` app's own keys, `OAuth2TestIssuer` with a
 * test issuer's keys that an `OAuth2ResourceServerModule` app is made to trust; code that takes either takes
 * this class.
 */
export abstract class OAuth2TestTokenMinter {
  private throwaway: OAuth2TestSigningKey | undefined;

  /** Seconds of clock skew the app tolerates: an `expired` token is expired beyond them. */
  protected abstract clockTolerance(): number;

  /** A token the app accepts for these options, before `claims` are merged. */
  protected abstract mint(options: OAuth2TestTokenOptions): Promise<string>;

  /** The key valid tokens are signed with, to sign a changed token again. */
  protected abstract signingKey(): OAuth2TestSigningKey;

  /**
   * An access token the app's `OAuth2Guard` accepts (RFC 9068), for the client, scopes, audience and lifetime
   * asked. Send it as `Authorization: Bearer <token>` (RFC 6750 §2.1).
   */
  async accessToken(options: OAuth2TestTokenOptions = {}): Promise<string> {
    const token = await this.mint(options);
    if (options.claims === undefined) return token;
    return signJwt(
      decodeProtectedHeader(token),
      { ...decodeJwt(token), ...options.claims },
      this.signingKey(),
    );
  }

  /**
   * A token with one flaw and otherwise as `accessToken(options)` makes it: what the guard must refuse (see
   * `OAuth2TestTokenFlaw` for each flaw and its answer).
   */
  async flawedAccessToken(
    flaw: OAuth2TestTokenFlaw,
    options: OAuth2TestTokenOptions = {},
  ): Promise<string> {
    if (flaw === 'missing_scope') return this.accessToken({ ...options, scopes: [] });
    const token = await this.accessToken(options);
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    switch (flaw) {
      case 'expired': {
        const exp = Math.floor(Date.now() / 1000) - this.clockTolerance() - 60;
        const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
        return signJwt(header, { ...payload, iat: exp - lifetime, exp }, this.signingKey());
      }
      case 'wrong_audience':
        return signJwt(header, { ...payload, aud: WRONG_AUDIENCE }, this.signingKey());
      case 'wrong_issuer':
        return signJwt(header, { ...payload, iss: WRONG_ISSUER }, this.signingKey());
      case 'bad_signature':
        return signJwt(header, payload, this.throwawayKey());
      case 'unknown_key':
        return signJwt(header, payload, { ...this.throwawayKey(), kid: UNKNOWN_KEY_ID });
    }
  }

  /** A key of the signing key's algorithm that the app has never seen, under the signing key's `kid`. */
  private throwawayKey(): OAuth2TestSigningKey {
    const { algorithm, kid } = this.signingKey();
    if (this.throwaway?.algorithm !== algorithm) {
      this.throwaway = { algorithm, kid, key: generateTestKey(algorithm).privateKey };
    }
    return { ...this.throwaway, kid };
  }
}

/** The curve of each ECDSA algorithm (RFC 7518 §3.4), by Node's name. */
const CURVES: Readonly<Record<string, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/**
 * A new key for a JWS algorithm: on its curve (ES*), RSA of 2048 bits (RS*, PS*), or a 64-byte secret (HS*,
 * whose private and public halves are the same secret).
 */
export function generateTestKey(algorithm: string): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  if (algorithm.startsWith('HS')) {
    const secret = createSecretKey(randomBytes(64));
    return { privateKey: secret, publicKey: secret };
  }
  if (algorithm.startsWith('ES')) {
    const namedCurve = CURVES[algorithm];
    if (namedCurve === undefined)
      throw new Error(`OAuth2 testing: unsupported algorithm ${algorithm}`);
    return generateKeyPairSync('ec', { namedCurve });
  }
  if (/^(RS|PS)(256|384|512)$/.test(algorithm)) {
    return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
  throw new Error(`OAuth2 testing: unsupported algorithm ${algorithm}`);
}

/**
 * A compact JWS of this header and payload (RFC 7515 §7.1); its `alg` and `kid` are the key's, whatever the
 * header said.
 */
export function signJwt(
  header: Record<string, unknown>,
  payload: JWTPayload,
  { algorithm, key, kid }: OAuth2TestSigningKey,
): Promise<string> {
  const { kid: _kid, ...rest } = header;
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...rest, alg: algorithm, ...(kid === undefined ? {} : { kid }) })
    .sign(key);
}

/** An `aud` option as a list. */
export const audienceList = (audience: string | readonly string[]): string[] =>
  typeof audience === 'string' ? [audience] : [...audience];
