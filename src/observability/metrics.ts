import type {
  Attributes,
  Histogram,
  Meter,
  MetricAdvice,
  ObservableCounter,
  ObservableResult,
} from '@opentelemetry/api';
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
 *
 * This base class records nothing: it is what the module uses without `@opentelemetry/api` or without a
 * registered MeterProvider, and what a test may subclass to record calls (`.overrideProvider(OAuth2Metrics)`).
 */
export class OAuth2Metrics {
  /** A token request ended with `outcome`. */
  tokenRequest(_outcome: OAuth2TokenRequestOutcome): void {}

  /** A client's authentication failed for `reason`. */
  authFailure(_reason: OAuth2AuthFailureReason): void {}

  /** A key derivation waited `ms` milliseconds for its turn in the KDF limiter. */
  kdfWait(_ms: number): void {}

  /**
   * Reads the KDF limiter's depth (derivations running and waiting) when metrics are collected, until the
   * returned disposer is called (its module destroyed): the instruments outlive an app, and a callback left
   * registered would keep its limiter and all it holds alive.
   */
  observeKdfLoad(_load: () => { running: number; waiting: number }): () => void {
    return () => {};
  }

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

/** The instrumentation scope: the Meter's name. */
export const OAUTH2_METER_NAME = '@nest-oauth2/server';

/** The instruments' names, as OpenTelemetry semantic conventions would spell them (dotted, plural counts). */
export const OAUTH2_METRIC_NAMES = {
  tokenRequests: 'oauth2.token.requests',
  authFailures: 'oauth2.client_auth.failures',
  kdfWaitTime: 'oauth2.kdf.wait_time',
  kdfDerivations: 'oauth2.kdf.derivations',
  verifications: 'oauth2.token.verifications',
  jwksFetchDuration: 'oauth2.jwks.fetch.duration',
  revocationStoreDuration: 'oauth2.revocation_store.operation.duration',
} as const;

/** The keys of a table that names every value of a union once: the compiler checks the list is whole. */
const every = <K extends string>(table: Record<K, true>): readonly K[] => Object.keys(table) as K[];

/** Every value of each attribute, for the attribute sets built in advance (and the tests). */
export const OAUTH2_METRIC_VALUES = {
  tokenRequestOutcomes: every<OAuth2TokenRequestOutcome>({
    issued: true,
    invalid_request: true,
    invalid_client: true,
    invalid_grant: true,
    unauthorized_client: true,
    unsupported_grant_type: true,
    invalid_scope: true,
    invalid_target: true,
    throttled: true,
    busy: true,
    unavailable: true,
    server_error: true,
  }),
  authFailureReasons: every<OAuth2AuthFailureReason>({
    unknown_client: true,
    wrong_secret: true,
    expired_secret: true,
    method_not_allowed: true,
    client_disabled: true,
    assertion_invalid: true,
    malformed_credentials: true,
    throttled: true,
  }),
  verifiers: every<OAuth2Verifier>({ local: true, jwks: true, introspection: true }),
  verificationOutcomes: every<OAuth2VerificationOutcome>({
    valid: true,
    missing: true,
    malformed: true,
    invalid: true,
    expired: true,
    revoked: true,
    unknown_key: true,
    insufficient_scope: true,
    unavailable: true,
  }),
  fetchOutcomes: every<OAuth2FetchOutcome>({ ok: true, error: true, timeout: true }),
  storeOperations: every<OAuth2RevocationStoreOperation>({ revoke: true, reload: true }),
};
const VALUES = OAUTH2_METRIC_VALUES;

/**
 * Bucket boundaries in seconds for the duration histograms: those semantic conventions advise for HTTP
 * durations, from 5 ms to 10 s (a KDF wait, a JWKS fetch and a Redis round trip all fall in that range).
 */
const DURATION_ADVICE: MetricAdvice = {
  explicitBucketBoundaries: [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
  ],
};

/** A table with one entry per value, built once. */
function tableBy<K extends string, V>(values: readonly K[], of: (value: K) => V): Record<K, V> {
  const table = {} as Record<K, V>;
  for (const value of values) table[value] = of(value);
  return table;
}

/** One frozen attribute object per value, built once: recording allocates nothing. */
function attributesBy<K extends string>(
  values: readonly K[],
  of: (value: K) => Attributes,
): Record<K, Attributes> {
  return tableBy(values, (value) => Object.freeze(of(value)));
}

/** A count kept here, with its attribute set, until the SDK collects it. */
interface Tally {
  readonly attributes: Attributes;
  count: number;
}

/** One tally per value, with its frozen attribute set built once. */
function talliesBy<K extends string>(
  values: readonly K[],
  of: (value: K) => Attributes,
): Record<K, Tally> {
  return tableBy(values, (value) => ({ attributes: Object.freeze(of(value)), count: 0 }));
}

/** Reports every tally counted so far (cumulative totals) when the SDK collects. */
function observeTallies(counter: ObservableCounter, tallies: readonly Tally[]): void {
  counter.addCallback((result) => {
    for (const tally of tallies) if (tally.count > 0) result.observe(tally.count, tally.attributes);
  });
}

/**
 * OAuth2Metrics on an OpenTelemetry Meter: the instruments are created once, here. The counts on the request
 * path (token requests, failures, verifications) are ObservableCounters over tallies kept here: recording one
 * is an increment, with no SDK call and no allocation, and the SDK reads the totals when it collects (every
 * export interval). Durations are histograms, recorded with attribute sets built in advance.
 */
class OpenTelemetryOAuth2Metrics extends OAuth2Metrics {
  private readonly kdfWaitTime: Histogram;
  private readonly jwksFetchDuration: Histogram;
  private readonly revocationStoreDuration: Histogram;
  private readonly kdfLoads = new Set<() => { running: number; waiting: number }>();

  private readonly tokenRequests = talliesBy(VALUES.tokenRequestOutcomes, (outcome) => ({
    'oauth2.outcome': outcome,
  }));
  private readonly authFailures = talliesBy(VALUES.authFailureReasons, (reason) => ({
    'oauth2.reason': reason,
  }));
  private readonly verifications = tableBy(VALUES.verifiers, (verifier) =>
    talliesBy(VALUES.verificationOutcomes, (outcome) => ({
      'oauth2.verifier': verifier,
      'oauth2.outcome': outcome,
    })),
  );
  private readonly fetchAttributes = attributesBy(VALUES.fetchOutcomes, (outcome) => ({
    'oauth2.outcome': outcome,
  }));
  private readonly storeAttributes = tableBy(VALUES.storeOperations, (operation) =>
    attributesBy(['ok', 'error'], (outcome) => ({
      'oauth2.operation': operation,
      'oauth2.outcome': outcome,
    })),
  );
  private static readonly RUNNING = Object.freeze({ 'oauth2.kdf.state': 'running' });
  private static readonly WAITING = Object.freeze({ 'oauth2.kdf.state': 'waiting' });

  constructor(meter: Meter) {
    super();
    const names = OAUTH2_METRIC_NAMES;
    const seconds = (name: string, description: string) =>
      meter.createHistogram(name, { description, unit: 's', advice: DURATION_ADVICE });
    const count = (
      name: string,
      unit: string,
      description: string,
      tallies: Record<string, Tally>[],
    ) =>
      observeTallies(
        meter.createObservableCounter(name, { description, unit }),
        tallies.flatMap((table) => Object.values(table)),
      );
    count(
      names.tokenRequests,
      '{request}',
      'Token endpoint requests, by how they ended (RFC 6749 §5.2 error code or issued).',
      [this.tokenRequests],
    );
    count(names.authFailures, '{failure}', 'Failed client authentications, by reason.', [
      this.authFailures,
    ]);
    this.kdfWaitTime = seconds(
      names.kdfWaitTime,
      'Time a secret derivation (KDF) waited for its turn in the KDF limiter.',
    );
    meter
      .createObservableUpDownCounter(names.kdfDerivations, {
        description: 'Secret derivations (KDF) running and waiting in the KDF limiter.',
        unit: '{derivation}',
      })
      .addCallback((result) => this.observeLoads(result));
    count(
      names.verifications,
      '{verification}',
      'Bearer token verifications (RFC 6750), by verifier and outcome.',
      Object.values(this.verifications),
    );
    this.jwksFetchDuration = seconds(
      names.jwksFetchDuration,
      'Fetches of a remote JWK Set (with RFC 8414 discovery when needed), by outcome.',
    );
    this.revocationStoreDuration = seconds(
      names.revocationStoreDuration,
      'Revocation store operations (RFC 7009 revocations written, reloads), by outcome.',
    );
  }

  override tokenRequest(outcome: OAuth2TokenRequestOutcome): void {
    this.tokenRequests[outcome].count++;
  }

  override authFailure(reason: OAuth2AuthFailureReason): void {
    this.authFailures[reason].count++;
  }

  override kdfWait(ms: number): void {
    this.kdfWaitTime.record(ms / 1000);
  }

  override observeKdfLoad(load: () => { running: number; waiting: number }): () => void {
    // A function of its own each time, so that one registered twice is counted, and disposed of, twice.
    const read = () => load();
    this.kdfLoads.add(read);
    return () => void this.kdfLoads.delete(read);
  }

  override verification(verifier: OAuth2Verifier, outcome: OAuth2VerificationOutcome): void {
    // A host's own AccessTokenVerifier given as a plain object has no `kind`: it verifies locally.
    (this.verifications[verifier] ?? this.verifications.local)[outcome].count++;
  }

  override jwksFetch(outcome: OAuth2FetchOutcome, ms: number): void {
    this.jwksFetchDuration.record(ms / 1000, this.fetchAttributes[outcome]);
  }

  override revocationStore(
    operation: OAuth2RevocationStoreOperation,
    ms: number,
    failed: boolean,
  ): void {
    const attributes = this.storeAttributes[operation];
    this.revocationStoreDuration.record(ms / 1000, attributes[failed ? 'error' : 'ok']);
  }

  /** Every registered limiter's depth, summed (one per OAuth2Module in the app). */
  private observeLoads(result: ObservableResult): void {
    if (this.kdfLoads.size === 0) return;
    let running = 0;
    let waiting = 0;
    for (const load of this.kdfLoads) {
      const depth = load();
      running += depth.running;
      waiting += depth.waiting;
    }
    result.observe(running, OpenTelemetryOAuth2Metrics.RUNNING);
    result.observe(waiting, OpenTelemetryOAuth2Metrics.WAITING);
  }
}

/** The package's version, for the Meter; undefined when package.json cannot be read. */
async function packageVersion(): Promise<string | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const { name, version } = JSON.parse(text) as { name?: unknown; version?: unknown };
    return name === OAUTH2_METER_NAME && typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The module's OAuth2Metrics: on the global MeterProvider of `@opentelemetry/api` when the host app has the
 * package (loaded here, lazily, so that it stays an optional peer), else the no-op base class.
 *
 * The global MeterProvider is read once, here, when the module is created: the OpenTelemetry metrics API has
 * no proxy that would hand instruments created earlier to a provider registered later. So the SDK must be
 * started before the Nest app is created (as OpenTelemetry's docs say: in a file loaded first, or with
 * `--import`). With no provider registered by then, this is the no-op base class, which costs nothing.
 */
export async function createOAuth2Metrics(): Promise<OAuth2Metrics> {
  let api: typeof import('@opentelemetry/api');
  try {
    api = await import('@opentelemetry/api');
  } catch {
    return new OAuth2Metrics();
  }
  const meter = api.metrics.getMeter(OAUTH2_METER_NAME, await packageVersion());
  // The API's NoopMeter when no MeterProvider is registered: skip it and its per-call work altogether.
  if (meter instanceof api.createNoopMeter().constructor) return new OAuth2Metrics();
  // One instance per Meter: the modules of one app (two OAuth2Modules, a resource server) share its
  // instruments, and the KDF depth callback sums every limiter instead of one replacing another's.
  let metrics = byMeter.get(meter);
  if (metrics === undefined) {
    metrics = new OpenTelemetryOAuth2Metrics(meter);
    byMeter.set(meter, metrics);
  }
  return metrics;
}

const byMeter = new WeakMap<Meter, OAuth2Metrics>();
