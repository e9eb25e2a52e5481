import { Injectable } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { clientView, type OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2KeyRing } from '../keys/key-ring.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import {
  MAX_ACCESS_TOKEN_LENGTH,
  principalOfAccessToken,
} from '../resource/access-token.profile.js';
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

interface DecodedToken {
  header: { typ?: unknown; crit?: unknown };
  payload: Record<string, unknown>;
}

/**
 * Builds the JwtService the module signs and verifies with. The key and algorithm are chosen per call from the
 * key ring; what never changes (issuer, audience) is given here.
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
  constructor(
    private readonly jwt: JwtService,
    private readonly config: OAuth2Config,
    private readonly keyRing: OAuth2KeyRing,
    private readonly revocations: OAuth2RevocationStore,
  ) {
    super();
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

  /** `issue()`, with what the audit event of the issuance names: the token's jti, audiences and lifetime. */
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
    payload.client_id = client.clientId;
    const scope = scopes.join(' ');
    if (scope) payload.scope = scope;

    const key = this.keyRing.current.active;
    const jti = randomUUID();
    const accessToken = this.jwt.sign(payload, {
      privateKey: key.signingKey,
      algorithm: key.algorithm,
      // RFC 9068 §2.1: typ at+jwt; the kid tells verifiers which published key to use.
      header: {
        alg: key.algorithm,
        typ: 'at+jwt',
        ...(key.kid === undefined ? {} : { kid: key.kid }),
      },
      issuer: config.issuer,
      // A legacy table may declare user_id as an integer; `sub` is a string (RFC 7519 §4.1.2), never empty
      // (a legacy row's empty user_id means none).
      subject: subjectOf(client),
      audience: audience.length === 1 ? audience[0] : [...audience],
      expiresIn: lifetime,
      jwtid: jti,
    });
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
   */
  override async verify(token: string): Promise<OAuthPrincipal> {
    const principal = this.check(token, { audience: this.config.audience });
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
      return this.check(token, { audience: undefined });
    } catch (error) {
      if (error instanceof OAuth2Error && error.error === 'invalid_token') return undefined;
      throw error;
    }
  }

  /** Whether the revocation store refuses the token, from its local copy (no I/O). */
  isRevoked({ clientId, claims }: OAuthPrincipal): boolean {
    return this.revocations.isRevoked({ jti: claims.jti, clientId, issuedAt: claims.iat });
  }

  private check(token: string, { audience }: { audience: readonly string[] | undefined }) {
    // Each refusal is marked with its outcome for the verifications metric; the response is the same.
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw refusedAs('malformed', invalidAccessToken());
    const header = (this.jwt.decode<DecodedToken | null>(token, { complete: true }) ?? undefined)
      ?.header as { kid?: unknown } | undefined;
    if (!header) throw refusedAs('malformed', invalidAccessToken());
    const key = this.keyRing.current.keyFor(header.kid);
    if (!key) throw refusedAs('unknown_key', invalidAccessToken());
    let decoded: DecodedToken;
    try {
      decoded = this.jwt.verify<DecodedToken>(token, {
        complete: true,
        // jsonwebtoken takes a KeyObject; @nestjs/jwt's type says string or Buffer only.
        publicKey: key.verificationKey as unknown as Buffer,
        // Only the key's own algorithm: nothing in the token's header chooses it (RFC 8725 §3.1).
        algorithms: [key.algorithm],
        // Undefined replaces the module's audience, and jsonwebtoken then checks none.
        audience: audience as [string, ...string[]] | undefined,
      });
    } catch (error) {
      throw error instanceof TokenExpiredError
        ? refusedAs('expired', OAuth2Error.invalidToken('The access token expired'))
        : refusedAs('invalid', invalidAccessToken());
    }
    return principalOfAccessToken(decoded.header, decoded.payload);
  }
}

/** The one refusal of a token that is not ours, whatever is wrong with it (RFC 6750 §3.1). */
function invalidAccessToken(): OAuth2Error {
  return OAuth2Error.invalidToken('The access token is invalid');
}
