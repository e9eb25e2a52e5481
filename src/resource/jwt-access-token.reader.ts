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

/** The protected headers read so far, by their encoded segment (see `protectedHeaderOf()`). */
const headers = new Map<string, Readonly<ProtectedHeaderParameters>>();
/** More distinct headers than any key ring holds keys; past it the map starts again, so none can grow it. */
const MAX_HEADERS = 64;

/**
 * The protected header of a compact JWS, read without verifying anything, to choose the key by its `kid`
 * (jose's `decodeProtectedHeader`: one base64url decode and one JSON parse of the header alone). A token
 * longer than any we issue, or one whose header cannot be read, is refused as malformed.
 *
 * Every token one key signs carries the same header segment, so each segment is decoded once and its
 * (frozen) header handed out again: jose's decode cost 4-8 µs of server CPU per fresh token on Node 20. The
 * map is keyed by the segment alone, which is all the header is read from, and is emptied when full, so
 * garbage headers cost a decode each, as before, and never memory.
 */
export function protectedHeaderOf(token: string): Readonly<ProtectedHeaderParameters> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw refusedAs('malformed', invalidAccessToken());
  // jose reads the first of 3 (JWS) or 5 (JWE) segments, and refuses any other count.
  const dots = dotsIn(token);
  if (dots !== 2 && dots !== 4) throw refusedAs('malformed', invalidAccessToken());
  const segment = token.slice(0, token.indexOf('.'));
  let header = headers.get(segment);
  if (header === undefined) {
    try {
      header = Object.freeze(decodeProtectedHeader(token));
    } catch {
      throw refusedAs('malformed', invalidAccessToken());
    }
    if (headers.size >= MAX_HEADERS) headers.clear();
    headers.set(segment, header);
  }
  return header;
}

/** How many dots `token` holds, counted up to 5. */
function dotsIn(token: string): number {
  let dots = 0;
  for (let at = token.indexOf('.'); at !== -1 && dots < 5; at = token.indexOf('.', at + 1)) dots++;
  return dots;
}

/**
 * Verifies access tokens (RFC 9068 §4) with the key their `kid` chose, through @nestjs/jwt's `JwtService`
 * (jsonwebtoken on a ready `KeyObject`): the signature with the key's own algorithm only, then `iss`, `aud` and
 * `exp` within the clock tolerance of the verifier's settings, then the profile's `typ`, `crit` and claims. The
 * one path of the module's own guard and of a resource server.
 *
 * Each key gets its own `JwtService`, built once with the key and every verify option, and `verify(token)`
 * is called with no per-call options. Given per call, the key made @nestjs/jwt copy the options and `delete` it
 * from the copy on every call: a guarded request on a fresh HS256 token cost 112-127 µs of server CPU that
 * way, 75-90 µs with a service per key (bench/results/before-after.md).
 */
export class JwtAccessTokenReader {
  private readonly services = new WeakMap<AccessTokenKey, Record<AudienceCheck, JwtService>>();
  /** Tokens `readRemembered()` accepted: one presented again is not verified again until its `exp`. */
  private readonly verified: VerifiedTokenCache<OAuthPrincipal>;

  constructor(
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
      decoded = this.servicesFor(key)[audience].verify(token);
    } catch (error) {
      throw error instanceof TokenExpiredError
        ? refusedAs('expired', OAuth2Error.invalidToken('The access token expired'))
        : refusedAs('invalid', invalidAccessToken());
    }
    // Frozen, cached or not: a handler sees the same kind of object on every request.
    return frozenPrincipal(principalOfAccessToken(decoded.header, decoded.payload));
  }

  private servicesFor(key: AccessTokenKey): Record<AudienceCheck, JwtService> {
    let services = this.services.get(key);
    if (services === undefined) {
      const { issuer, audience, clockTolerance } = this.verifier;
      const configured: JwtVerifyOptions = {
        complete: true,
        issuer,
        audience: audience as [string, ...string[]],
        clockTolerance,
        // Only the key's own algorithm: nothing in the token's header chooses it (RFC 8725 §3.1).
        algorithms: [key.algorithm as NonNullable<JwtVerifyOptions['algorithms']>[number]],
      };
      const service = (verifyOptions: JwtVerifyOptions) =>
        // jsonwebtoken takes a KeyObject; @nestjs/jwt's type says string or Buffer only.
        new JwtService({ publicKey: key.verificationKey as unknown as Buffer, verifyOptions });
      // With no audience, jsonwebtoken checks none.
      services = {
        configured: service(configured),
        any: service({ ...configured, audience: undefined }),
      };
      this.services.set(key, services);
    }
    return services;
  }
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
