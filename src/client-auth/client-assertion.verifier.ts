import { Logger } from '@nestjs/common';
import { hash } from 'node:crypto';
import {
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyResult,
} from 'jose';
import { CLIENT_ID_PATTERN, type OAuthClient } from '../clients/oauth-client.entity.js';
import type { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { lookUpClient } from '../clients/client-lookup.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { describeStorageError } from '../errors/storage-error.js';
import { refusal } from './auth-failure.js';
import { CLIENT_ASSERTION_ALGORITHMS, type ClientKeySets } from './client-key-sets.js';
import type { OAuth2ReplayStore } from './replay-store.js';

/** RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** An assertion longer than this is refused unread: a few keys' worth of claims fit many times over. */
export const MAX_CLIENT_ASSERTION_LENGTH = 8 * 1024;
/** Compact JWS (RFC 7515 §7.1): three base64url parts, none empty (an empty signature is `alg: none`). */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const STORE_RETRY_AFTER_SECONDS = 5;
/** RFC 6749 Appendix A.1 and the client_id column (VARCHAR(80)). */
const MAX_CLIENT_ID_LENGTH = 80;

/** What the verifier checks an assertion against. */
export interface ClientAssertionSettings {
  /**
   * RFC 7523 §3 item 3: `aud` must hold one of these, the issuer identifier and the token endpoint URL, both
   * from the configuration (never from the request's Host header).
   */
  audiences: readonly string[];
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  clockTolerance: number;
  /** The most seconds `exp` may lie ahead: a longer-lived assertion is refused. */
  maxAssertionLifetime: number;
  /** How long the client lookup may take, in milliseconds. */
  storageTimeoutMs: number;
}

/** The form parameters of the `private_key_jwt` method, as sent. */
export interface ClientAssertionParameters {
  clientAssertionType: string | undefined;
  clientAssertion: string | undefined;
  /** Optional (RFC 7521 §4.2); when sent, it must name the assertion's subject. */
  clientId: string | undefined;
}

/**
 * Authenticates a client by a JWT it signed with its private key (`private_key_jwt`: RFC 7523 §2.2 and §3,
 * RFC 7521 §4.2). The client is the assertion's `sub`, read unverified only to find its keys; then the
 * signature (RS256, PS256 or ES256, with one of the client's keys), `iss` = `sub` = the client id, `aud`, a
 * required `exp` at most `maxAssertionLifetime` ahead, `nbf` and `iat` are checked, and last the `jti` is
 * claimed in the replay store, so an assertion is accepted once. Every refusal is the same 401
 * invalid_client; the assertion itself is never logged.
 */
export class ClientAssertionVerifier {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly settings: ClientAssertionSettings,
    private readonly clients: OAuthClientRepository,
    private readonly keySets: ClientKeySets,
    private readonly replays: OAuth2ReplayStore,
  ) {}

  async authenticate({
    clientAssertionType,
    clientAssertion,
    clientId,
  }: ClientAssertionParameters): Promise<OAuthClient> {
    if (
      clientAssertionType !== JWT_BEARER_ASSERTION_TYPE ||
      clientAssertion === undefined ||
      clientAssertion.length > MAX_CLIENT_ASSERTION_LENGTH ||
      !COMPACT_JWS.test(clientAssertion)
    ) {
      throw refusal('assertion_invalid');
    }
    const subject = claimedClientId(clientAssertion);
    if (subject === undefined || (clientId !== undefined && clientId !== subject)) {
      throw refusal('assertion_invalid');
    }
    const client = await this.find(subject);
    if (!client) throw refusal('unknown_client');
    // The guard also refuses a client whose method is another; refusing here spares the key lookup.
    if (client.tokenEndpointAuthMethod !== 'private_key_jwt') throw refusal('method_not_allowed');
    const keys = await this.keySets.keysOf(client);
    if (keys === undefined) throw refusal('assertion_invalid');
    const { payload } = await this.verify(clientAssertion, keys, subject);
    // RFC 7523 §3 item 7: the jti is claimed only once its assertion verified, so that no made-up assertion
    // fills the store or takes the jti of a genuine one.
    // Until the last moment jose would still take it: a fractional exp counts up to the next whole second.
    // Checked again now, after the key lookup (which may have waited on a fetch): an assertion that expired
    // meanwhile is refused rather than recorded as already lapsed, which would let a copy through.
    const acceptedUntil = (Math.ceil(payload.exp as number) + this.settings.clockTolerance) * 1000;
    if (Date.now() >= acceptedUntil) throw refusal('assertion_invalid');
    let claimed: boolean;
    try {
      claimed = await this.replays.claim(
        replayKey(subject, payload.jti as string),
        new Date(acceptedUntil),
      );
    } catch (error) {
      this.logger.error(`The replay store failed: ${describeStorageError(error)}`, {
        event: 'oauth2.client_auth.replay_store_failed',
      });
      throw OAuth2Error.temporarilyUnavailable(STORE_RETRY_AFTER_SECONDS);
    }
    if (!claimed) throw refusal('assertion_invalid');
    return client;
  }

  private async verify(
    assertion: string,
    keys: JWTVerifyGetKey,
    clientId: string,
  ): Promise<JWTVerifyResult> {
    const { clockTolerance, maxAssertionLifetime } = this.settings;
    // One clock for jose's checks and ours below.
    const now = Date.now();
    const options = {
      currentDate: new Date(now),
      algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
      // RFC 7523 §3 items 1 and 2: the client is both the issuer and the subject of its assertion.
      issuer: clientId,
      subject: clientId,
      audience: [...this.settings.audiences],
      clockTolerance,
      requiredClaims: ['exp', 'jti'],
    };
    let verified: JWTVerifyResult;
    try {
      verified = await verifyWithAnyKey(assertion, keys, options);
    } catch {
      // A bad signature, claim or key, or keys that cannot be fetched (logged by the key cache): all alike.
      throw refusal('assertion_invalid');
    }
    const { exp, iat, jti } = verified.payload as JWTPayload & { exp: number };
    const nowSeconds = now / 1000;
    if (
      exp > nowSeconds + maxAssertionLifetime + clockTolerance ||
      // jose checks iat only against a maximum age; one in the future is as wrong as an nbf there.
      (iat !== undefined && iat > nowSeconds + clockTolerance) ||
      typeof jti !== 'string' ||
      jti === ''
    ) {
      throw refusal('assertion_invalid');
    }
    return verified;
  }

  /** The bounded, timed lookup the other methods make: a storage failure is a 503, never a 401. */
  private find(clientId: string): Promise<OAuthClient | null> {
    return lookUpClient(
      this.clients.findById(clientId),
      this.settings.storageTimeoutMs,
      this.logger,
    );
  }
}

/**
 * The client the assertion names, read without verification only to find its keys: `sub`, which `iss` must
 * equal (RFC 7523 §3), a possible client id. Undefined when the assertion cannot be one of a client.
 */
export function claimedClientId(assertion: string): string | undefined {
  if (assertion.length > MAX_CLIENT_ASSERTION_LENGTH) return undefined;
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    return undefined;
  }
  const { sub, iss } = claims;
  if (typeof sub !== 'string' || sub !== iss) return undefined;
  if (sub.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID_PATTERN.test(sub)) return undefined;
  return sub;
}

/**
 * jwtVerify over the client's keys. An assertion without `kid` (authlib sends none) may fit several: each
 * that fits its `alg` is tried in turn, as jose's JWKSMultipleMatchingKeys offers them.
 */
async function verifyWithAnyKey(
  assertion: string,
  keys: JWTVerifyGetKey,
  options: Parameters<typeof jwtVerify>[2],
): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(assertion, keys, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return await jwtVerify(assertion, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** The replay store's key: the client id and the jti, length-prefixed so no two pairs meet, then hashed. */
export function replayKey(clientId: string, jti: string): string {
  return hash('sha256', `${clientId.length}:${clientId}${jti}`, 'base64url');
}
