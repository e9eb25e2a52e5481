import type { OAuth2AuthFailureReason } from './events.js';

/**
 * How a token request ended: `issued`, or the RFC 6749 §5.2 error code it was answered with, or `throttled`
 * (429), `busy` (503, the KDF queue is full), `unavailable` (503, storage failed), `server_error` (500).
 */
export type OAuth2TokenRequestOutcome =
  | 'issued'
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'throttled'
  | 'busy'
  | 'unavailable'
  | 'server_error';

/**
 * How a bearer token's verification ended: `valid`, or why it was refused (RFC 6750 §3.1): `missing` (no
 * token), `malformed`, `invalid` (signature, issuer, audience, type), `expired`, `revoked`, `unknown_key` (no key
 * for its `kid`), `insufficient_scope`, `unavailable` (keys or introspection could not be reached).
 */
export type OAuth2VerificationOutcome =
  | 'valid'
  | 'missing'
  | 'malformed'
  | 'invalid'
  | 'expired'
  | 'revoked'
  | 'unknown_key'
  | 'insufficient_scope'
  | 'unavailable';

/** Which verifier checked a token: the issuing app's own keys, a remote JWKS, or an introspection endpoint. */
export type OAuth2Verifier = 'local' | 'jwks' | 'introspection';

/** How a JWKS fetch ended. */
export type OAuth2FetchOutcome = 'ok' | 'error' | 'timeout';

/** A revocation store operation, for its latency. */
export type OAuth2RevocationStoreOperation = 'revoke' | 'reload';

/**
 * The module's metrics, through the OpenTelemetry API (`@opentelemetry/api`, an optional peer): a no-op unless
 * the host app installs an OpenTelemetry SDK with a MeterProvider. Names and units are in the README
 * ("Metrics"). Every method is cheap enough for the request path.
 */
export class OAuth2Metrics {
  /** A token request ended with `outcome`. */
  tokenRequest(_outcome: OAuth2TokenRequestOutcome): void {}

  /** A client's authentication failed for `reason`. */
  authFailure(_reason: OAuth2AuthFailureReason): void {}

  /** A key derivation waited `ms` milliseconds for its turn in the KDF limiter. */
  kdfWait(_ms: number): void {}

  /** Reads the KDF limiter's depth (derivations running and waiting) when metrics are collected. */
  observeKdfLoad(_load: () => { running: number; waiting: number }): void {}

  /** A bearer token was verified by `verifier` with `outcome`. */
  verification(_verifier: OAuth2Verifier, _outcome: OAuth2VerificationOutcome): void {}

  /** A JWKS (remote keys) fetch took `ms` and ended with `outcome`. */
  jwksFetch(_outcome: OAuth2FetchOutcome, _ms: number): void {}

  /** A revocation store operation took `ms`, and failed when `failed`. */
  revocationStore(
    _operation: OAuth2RevocationStoreOperation,
    _ms: number,
    _failed: boolean,
  ): void {}
}

/**
 * The module's OAuth2Metrics: on the global MeterProvider of `@opentelemetry/api` when the host app has the
 * package (loaded here, lazily, so that it stays an optional peer), else the no-op base class.
 */
export async function createOAuth2Metrics(): Promise<OAuth2Metrics> {
  return new OAuth2Metrics();
}
