import { JwtService, TokenExpiredError, type JwtVerifyOptions } from '@nestjs/jwt';
import { decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuthPrincipal } from './access-token.interface.js';
import { MAX_ACCESS_TOKEN_LENGTH, principalOfAccessToken } from './access-token.profile.js';
import { VerifiedTokenCache } from '../state/verified-token.cache.js';
import { refusedAs } from './verification-outcome.js';

/** A key that verifies access tokens, and the one algorithm it verifies them with (RFC 8725 §3.1). */
export interface AccessTokenKey {
  readonly algorithm: string;
  /** The public key, or the HMAC secret. */
  readonly verificationKey: KeyObject;
}

/** What a verifier requires of every token, and the size of its verified-token cache. */
export interface AccessTokenVerifierSettings {
  /** The exact `iss`. */
  readonly issuer: string;
  /** A token's `aud` must hold one of these (unless the audience check is `any`). */
  readonly audience: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  readonly clockTolerance: number;
  /** `accessTokenCache.maxEntries`: 0 turns the cache off. */
  readonly maxEntries: number;
}

/** Whose `aud` a token must hold: the verifier's configured audience, or any (RFC 8707: another resource's). */
export type AudienceCheck = 'configured' | 'any';

/**
 * The protected header of a compact JWS, read without verifying anything, to choose the key by its `kid`
 * (jose's `decodeProtectedHeader`: one base64url decode and one JSON parse of the header alone). A token
 * longer than any we issue, or one whose header cannot be read, is refused as malformed.
 */
export function protectedHeaderOf(token: string): ProtectedHeaderParameters {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw refusedAs('malformed', invalidAccessToken());
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw refusedAs('malformed', invalidAccessToken());
  }
}

/**
 * Verifies access tokens (RFC 9068 §4) with the key their `kid` chose, through @nestjs/jwt's `JwtService`
 * (jsonwebtoken on a ready `KeyObject`): the signature with the key's own algorithm only, then `iss`, `aud` and
 * `exp` within the clock tolerance of the verifier's settings, then the profile's `typ`, `crit` and claims. The
 * one path of the module's own guard and of a resource server.
 *
 * jsonwebtoken takes the key and the algorithms per call; they change only when keys do, so each key's
 * options object (with the settings) is built once and passed as it is on every call.
 */
export class JwtAccessTokenReader {
  private readonly options = new WeakMap<AccessTokenKey, Record<AudienceCheck, JwtVerifyOptions>>();
  /** Tokens `readRemembered()` accepted: one presented again is not verified again until its `exp`. */
  private readonly verified: VerifiedTokenCache<OAuthPrincipal>;

  constructor(
    private readonly jwt: JwtService,
    /** What every token must meet, and the size of the verified-token cache. */
    private readonly verifier: AccessTokenVerifierSettings,
  ) {
    this.verified = new VerifiedTokenCache(verifier.maxEntries);
  }

  /**
   * `read()` with the configured audience, through the verified-token cache: a token accepted twice, whose
   * `exp` (plus the clock tolerance) has not passed, is accepted again without verification while `holds`
   * says the key that verified it is still in force; every request that presents it gets the same (frozen)
   * principal. What must be checked on every request (revocation) is the caller's.
   */
  readRemembered<K extends AccessTokenKey>(
    token: string,
    keyOf: (token: string) => K | Promise<K>,
    holds: (key: K) => boolean,
  ): OAuthPrincipal | Promise<OAuthPrincipal> {
    const cached = this.verified.get(token);
    // A hit answers at once, without a promise of its own.
    if (cached !== undefined && holds(cached.verifiedWith as K)) return cached.value;
    const key = keyOf(token);
    return key instanceof Promise
      ? key.then((found) => this.readAndRemember(token, found, cached !== undefined))
      : this.readAndRemember(token, key, cached !== undefined);
  }

  private readAndRemember(token: string, key: AccessTokenKey, held: boolean): OAuthPrincipal {
    const principal = this.read(token, key);
    // A token held for keys since replaced is held again at once; any other on its second verification.
    if (held || this.verified.admits(token)) {
      this.verified.set(token, {
        value: principal,
        verifiedWith: key,
        expiresAt: (principal.claims.exp + this.verifier.clockTolerance) * 1000,
      });
    }
    return principal;
  }

  /** The token's principal; an `invalid_token` refusal marked with its outcome otherwise. */
  read(token: string, key: AccessTokenKey, audience: AudienceCheck = 'configured'): OAuthPrincipal {
    let decoded: { header: { typ?: unknown; crit?: unknown }; payload: Record<string, unknown> };
    try {
      decoded = this.jwt.verify(token, this.optionsFor(key)[audience]);
    } catch (error) {
      throw error instanceof TokenExpiredError
        ? refusedAs('expired', OAuth2Error.invalidToken('The access token expired'))
        : refusedAs('invalid', invalidAccessToken());
    }
    // Frozen, cached or not: a handler sees the same kind of object on every request.
    return frozenPrincipal(principalOfAccessToken(decoded.header, decoded.payload));
  }

  private optionsFor(key: AccessTokenKey): Record<AudienceCheck, JwtVerifyOptions> {
    let options = this.options.get(key);
    if (options === undefined) {
      const { issuer, audience, clockTolerance } = this.verifier;
      const configured: JwtVerifyOptions = {
        complete: true,
        // Given here, not left to the JwtService's own verifyOptions: a JwtService built without them must not
        // turn the issuer and audience checks off.
        issuer,
        audience: audience as [string, ...string[]],
        clockTolerance,
        // jsonwebtoken takes a KeyObject; @nestjs/jwt's type says string or Buffer only.
        publicKey: key.verificationKey as unknown as Buffer,
        // Only the key's own algorithm: nothing in the token's header chooses it (RFC 8725 §3.1).
        algorithms: [key.algorithm as NonNullable<JwtVerifyOptions['algorithms']>[number]],
      };
      // An undefined audience replaces the JwtService's, and jsonwebtoken then checks none.
      options = { configured, any: { ...configured, audience: undefined } };
      this.options.set(key, options);
    }
    return options;
  }
}

/**
 * A JwtService that verifies for `verifier`: its issuer, audiences and clock tolerance given at construction
 * too, so that the service verifies the same way when a host app calls it directly (`JwtAccessTokenReader`
 * passes them per key whatever the service says).
 */
export function verifyingJwtService(verifier: {
  issuer: string;
  audience: readonly string[];
  clockTolerance: number;
}): JwtService {
  return new JwtService({
    verifyOptions: {
      issuer: verifier.issuer,
      audience: verifier.audience as [string, ...string[]],
      clockTolerance: verifier.clockTolerance,
    },
  });
}

/** The one refusal of a token that is not ours, whatever is wrong with it (RFC 6750 §3.1). */
export function invalidAccessToken(): OAuth2Error {
  return OAuth2Error.invalidToken('The access token is invalid');
}

/**
 * `principal`, frozen with everything it holds: a cached principal is handed to every request that presents
 * the token again, so no handler may change what the next one reads.
 */
function frozenPrincipal(principal: OAuthPrincipal): OAuthPrincipal {
  return deepFreeze(principal);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
