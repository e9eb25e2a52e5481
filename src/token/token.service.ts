import { Injectable } from '@nestjs/common';
import { JwtService, type JwtSignOptions } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { clientView, type OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2KeyRing } from '../keys/key-ring.js';
import type { SigningKeySet } from '../keys/signing-key-set.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import {
  invalidAccessToken,
  JwtAccessTokenReader,
  protectedHeaderOf,
} from '../resource/jwt-access-token.reader.js';
import { AccessTokenVerifier } from '../resource/access-token.verifier.js';
import { refusedAs } from '../resource/verification-outcome.js';
import { OAuth2RevocationStore } from '../state/revocation-store.js';
import type { OAuthTokenResponse } from './token-response.interface.js';

/** Claims the library sets itself; a custom-claims hook cannot replace them. */
const REGISTERED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
]);

/** RFC 9068 §2.2 `sub`: the client's user_id when it has one, else its id. */
function subjectOf(client: OAuthClient): string {
  const userId = client.userId === null ? '' : String(client.userId);
  return userId.trim() === '' ? client.clientId : userId;
}

/** What a token is issued for, beyond its client and scopes. */
/** An issued access token's response, and the facts its audit event names (never the token itself). */
export interface IssuedAccessToken {
  response: OAuthTokenResponse;
  jti: string;
  audience: string[];
  /** Seconds from `iat` to `exp`. */
  lifetime: number;
}

export interface OAuthTokenOptions {
  /** The `aud` values (RFC 9068 §2.2, RFC 8707). @default the module's `audience` */
  audience?: readonly string[];
  /**
   * Seconds until `exp`, at most the module's `maxAccessTokenLifetime`: a longer one is clamped to it, since a
   * client's revocation is kept only that long. @default the module's `accessTokenLifetime`
   */
  lifetime?: number;
}

/**
 * Builds the JwtService the module signs with; the key and algorithm are chosen per call from the key ring.
 * Its verify options are the module's issuer, audiences and clock tolerance, so that a host app calling it
 * directly verifies the way the module does (the module's own verification builds a JwtService per key:
 * `JwtAccessTokenReader`).
 */
export function createJwtService(config: OAuth2Config): JwtService {
  return new JwtService({
    verifyOptions: {
      issuer: config.issuer,
      audience: config.audience as [string, ...string[]],
      clockTolerance: config.clockTolerance,
    },
  });
}

/**
 * Issues and verifies JWT access tokens in the RFC 9068 profile, with the module's keys: the
 * AccessTokenVerifier of OAuth2Guard in the app that issues the tokens.
 */
@Injectable()
export class TokenService extends AccessTokenVerifier {
  private readonly reader: JwtAccessTokenReader;
  private readonly keyOfToken = (token: string) => this.keyOf(token, this.keyRing.current);
  private readonly keyInForce = (key: SigningKey) => this.keyRing.current.holds(key);
  /** Each signing key's options for `JwtService.sign()`, built once (see `issueAccessToken()`). */
  private readonly signOptions = new WeakMap<SigningKey, JwtSignOptions>();

  constructor(
    private readonly jwt: JwtService,
    private readonly config: OAuth2Config,
    private readonly keyRing: OAuth2KeyRing,
    private readonly revocations: OAuth2RevocationStore,
  ) {
    super();
    this.reader = new JwtAccessTokenReader({
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: config.clockTolerance,
      maxEntries: config.accessTokenCache.maxEntries,
    });
  }

  /**
   * Issues an access token for the client with the granted scopes (RFC 6749 §4.4.3, §5.1), for `audience`
   * (default: the module's) and `lifetime` seconds (default: the module's `accessTokenLifetime`; clamped to
   * `maxAccessTokenLifetime`, so no token outlives a client revocation record).
   */
  async issue(
    client: OAuthClient,
    scopes: readonly string[],
    options: OAuthTokenOptions = {},
  ): Promise<OAuthTokenResponse> {
    return (await this.issueAccessToken(client, scopes, options)).response;
  }

  /**
   * `issue()`, with what the audit event of the issuance names: the token's jti, audiences and lifetime.
   *
   * Every claim is set in the payload (RFC 9068 §2.2), and the only options given to `JwtService.sign()` are
   * the active key's, one object built once per key: @nestjs/jwt merges and jsonwebtoken validates per-call
   * options on every call, and claims in the payload skip both.
   */
  async issueAccessToken(
    client: OAuthClient,
    scopes: readonly string[],
    {
      audience = this.config.audience,
      lifetime: asked = this.config.accessTokenLifetime,
    }: OAuthTokenOptions = {},
  ): Promise<IssuedAccessToken> {
    const { config } = this;
    const lifetime = Math.min(asked, config.maxAccessTokenLifetime);
    const payload: Record<string, unknown> = {};
    if (config.customClaims) {
      const extra = await config.customClaims({ client: clientView(client), scopes });
      for (const [name, value] of Object.entries(extra ?? {})) {
        if (!REGISTERED_CLAIMS.has(name)) payload[name] = value;
      }
    }
    const iat = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    payload.iss = config.issuer;
    // A legacy table may declare user_id as an integer; `sub` is a string (RFC 7519 §4.1.2), never empty
    // (a legacy row's empty user_id means none).
    payload.sub = subjectOf(client);
    payload.aud = audience.length === 1 ? audience[0] : [...audience];
    payload.exp = iat + lifetime;
    payload.iat = iat;
    payload.jti = jti;
    payload.client_id = client.clientId;
    const scope = scopes.join(' ');
    if (scope) payload.scope = scope;

    const accessToken = this.jwt.sign(payload, this.signOptionsFor(this.keyRing.current.active));
    const response: OAuthTokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: lifetime,
    };
    if (scope) response.scope = scope;
    return { response, jti, audience: [...audience], lifetime };
  }

  /**
   * Verifies an access token (RFC 9068 §4): the signature with the key its `kid` names among the keys in force
   * and that key's algorithm only, `typ`, `iss`, `aud`, `exp`, and the claims the profile requires; then that it
   * was not revoked (RFC 7009), from the revocation store's local copy (no I/O). Throws an RFC 6750
   * invalid_token error.
   *
   * A token that passed is remembered (`accessTokenCache`) until its `exp`: presented again, while the key that
   * verified it is still in force, only the revocation check runs again. Its principal is then frozen.
   */
  override async verify(token: string): Promise<OAuthPrincipal> {
    const principal = await this.reader.readRemembered(token, this.keyOfToken, this.keyInForce);
    if (this.isRevoked(principal)) {
      throw refusedAs('revoked', OAuth2Error.invalidToken('The access token was revoked'));
    }
    return principal;
  }

  /**
   * Reads a token this server issued, for revocation (RFC 7009) and introspection (RFC 7662): the checks of
   * `verify()` but the audience, since a token may carry any resource's (RFC 8707), and without the revocation
   * check (see `isRevoked()`). Undefined for any token those checks refuse (malformed, not ours, expired).
   */
  async verifyIssued(token: string): Promise<OAuthPrincipal | undefined> {
    try {
      return this.reader.read(token, this.keyOf(token, this.keyRing.current), 'any');
    } catch (error) {
      if (error instanceof OAuth2Error && error.error === 'invalid_token') return undefined;
      throw error;
    }
  }

  /** Whether the revocation store refuses the token, from its local copy (no I/O). */
  isRevoked({ clientId, claims }: OAuthPrincipal): boolean {
    return this.revocations.isRevoked({ jti: claims.jti, clientId, issuedAt: claims.iat });
  }

  /** The key in force that the token's `kid` names, or an invalid_token refusal. */
  private keyOf(token: string, keys: SigningKeySet): SigningKey {
    const key = keys.keyFor(protectedHeaderOf(token).kid);
    if (!key) throw refusedAs('unknown_key', invalidAccessToken());
    return key;
  }

  private signOptionsFor(key: SigningKey): JwtSignOptions {
    let options = this.signOptions.get(key);
    if (options === undefined) {
      options = {
        algorithm: key.algorithm,
        // RFC 9068 §2.1: typ at+jwt; the kid tells verifiers which published key to use.
        header: {
          alg: key.algorithm,
          typ: 'at+jwt',
          ...(key.kid === undefined ? {} : { kid: key.kid }),
        },
      };
      // The key is read from these options by any JwtService (ours or a host's), but left out of the copy
      // @nestjs/jwt makes of them on every call and then `delete`s the key from: a copy that lost a member
      // that way merges and validates slowly (bench/results/before-after.md).
      Object.defineProperty(options, 'privateKey', { value: key.signingKey, enumerable: false });
      this.signOptions.set(key, options);
    }
    return options;
  }
}
