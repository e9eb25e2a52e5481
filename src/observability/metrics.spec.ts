import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { InstalledMeterProvider } from '../../test/support/metrics.js';
import {
  createOAuth2Metrics,
  OAUTH2_METER_NAME,
  OAUTH2_METRIC_NAMES as NAMES,
  OAUTH2_METRIC_VALUES,
  OAuth2Metrics,
  type OAuth2Verifier,
} from './metrics.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Calls every method once. */
function recordEach(metrics: OAuth2Metrics): void {
  metrics.tokenRequest('issued');
  metrics.authFailure('throttled');
  metrics.kdfWait(1);
  metrics.observeKdfLoad(() => ({ running: 0, waiting: 0 }));
  metrics.verification('jwks', 'valid');
  metrics.jwksFetch('ok', 1);
  metrics.revocationStore('revoke', 1, false);
}

describe('createOAuth2Metrics without a MeterProvider', () => {
  test('is the no-op base class, and every method records nothing without failing', async () => {
    const metrics = await createOAuth2Metrics();
    expect(metrics.constructor).toBe(OAuth2Metrics);
    recordEach(metrics);
    // A provider registered afterwards does not see what this instance records (read at creation).
    const provider = InstalledMeterProvider.install();
    try {
      metrics.tokenRequest('issued');
      expect([...(await provider.collect()).keys()]).toEqual([]);
    } finally {
      await provider.uninstall();
    }
  });
});

describe('createOAuth2Metrics on an OpenTelemetry SDK MeterProvider', () => {
  let provider: InstalledMeterProvider;
  let metrics: OAuth2Metrics;

  beforeEach(async () => {
    provider = InstalledMeterProvider.install();
    metrics = await createOAuth2Metrics();
  });
  afterEach(() => provider.uninstall());

  test('creates its instruments on the Meter `@nest-oauth2/server` with the package version', async () => {
    expect(metrics.constructor).not.toBe(OAuth2Metrics);
    metrics.tokenRequest('issued');
    const found = (await provider.collect()).get(NAMES.tokenRequests);
    expect(found?.scope).toEqual({ name: OAUTH2_METER_NAME, version: VERSION });
  });

  test('the modules of one app share one instance: counts and KDF depths add up', async () => {
    const other = await createOAuth2Metrics();
    expect(other).toBe(metrics);
    metrics.observeKdfLoad(() => ({ running: 1, waiting: 2 }));
    other.observeKdfLoad(() => ({ running: 1, waiting: 3 }));
    metrics.verification('local', 'valid');
    other.verification('local', 'valid');
    expect(await provider.value(NAMES.kdfDerivations, { 'oauth2.kdf.state': 'waiting' })).toBe(5);
    expect(
      await provider.value(NAMES.verifications, {
        'oauth2.verifier': 'local',
        'oauth2.outcome': 'valid',
      }),
    ).toBe(2);
  });

  test('oauth2.token.requests: a monotonic counter of {request} by oauth2.outcome', async () => {
    metrics.tokenRequest('issued');
    metrics.tokenRequest('issued');
    metrics.tokenRequest('invalid_client');
    metrics.tokenRequest('busy');
    const found = (await provider.collect()).get('oauth2.token.requests');
    expect(found).toMatchObject({ unit: '{request}', kind: 'sum', monotonic: true });
    expect(found?.points).toEqual(
      expect.arrayContaining([
        { attributes: { 'oauth2.outcome': 'issued' }, value: 2 },
        { attributes: { 'oauth2.outcome': 'invalid_client' }, value: 1 },
        { attributes: { 'oauth2.outcome': 'busy' }, value: 1 },
      ]),
    );
    expect(found?.points).toHaveLength(3);
  });

  test('oauth2.client_auth.failures: a monotonic counter of {failure} by oauth2.reason, every reason', async () => {
    const reasons = OAUTH2_METRIC_VALUES.authFailureReasons;
    expect(reasons).toHaveLength(8);
    reasons.forEach((reason, i) => {
      for (let n = 0; n <= i; n++) metrics.authFailure(reason);
    });
    const found = (await provider.collect()).get('oauth2.client_auth.failures');
    expect(found).toMatchObject({ unit: '{failure}', kind: 'sum', monotonic: true });
    expect(found?.points).toEqual(
      expect.arrayContaining(
        reasons.map((reason, i) => ({ attributes: { 'oauth2.reason': reason }, value: i + 1 })),
      ),
    );
    expect(found?.points).toHaveLength(reasons.length);
  });

  test('oauth2.kdf.wait_time: a histogram in seconds, without attributes', async () => {
    metrics.kdfWait(250);
    metrics.kdfWait(1500);
    const found = (await provider.collect()).get('oauth2.kdf.wait_time');
    expect(found).toMatchObject({ unit: 's', kind: 'histogram' });
    expect(found?.points).toEqual([{ attributes: {}, value: { count: 2, sum: 1.75 } }]);
  });

  test('oauth2.kdf.derivations: an observable up-down counter of running and waiting, read at collection', async () => {
    let load = { running: 2, waiting: 5 };
    metrics.observeKdfLoad(() => load);
    // A second OAuth2Module's limiter in the same app is added to the first.
    metrics.observeKdfLoad(() => ({ running: 1, waiting: 0 }));
    const first = (await provider.collect()).get('oauth2.kdf.derivations');
    expect(first).toMatchObject({ unit: '{derivation}', kind: 'sum', monotonic: false });
    expect(first?.points).toEqual(
      expect.arrayContaining([
        { attributes: { 'oauth2.kdf.state': 'running' }, value: 3 },
        { attributes: { 'oauth2.kdf.state': 'waiting' }, value: 5 },
      ]),
    );
    load = { running: 0, waiting: 0 };
    expect(await provider.value(NAMES.kdfDerivations, { 'oauth2.kdf.state': 'running' })).toBe(1);
    expect(await provider.value(NAMES.kdfDerivations, { 'oauth2.kdf.state': 'waiting' })).toBe(0);
  });

  test('oauth2.kdf.derivations: a disposed load is no longer read at collection', async () => {
    let reads = 0;
    const dispose = metrics.observeKdfLoad(() => {
      reads++;
      return { running: 4, waiting: 1 };
    });
    // The same function registered twice counts twice, and is disposed of once per registration.
    const kept = () => ({ running: 1, waiting: 0 });
    const disposeKept = metrics.observeKdfLoad(kept);
    metrics.observeKdfLoad(kept);
    expect(await provider.value(NAMES.kdfDerivations, { 'oauth2.kdf.state': 'running' })).toBe(6);
    expect(reads).toBe(1);
    dispose();
    dispose();
    disposeKept();
    expect(await provider.value(NAMES.kdfDerivations, { 'oauth2.kdf.state': 'running' })).toBe(1);
    expect(reads).toBe(1);
  });

  test('oauth2.token.verifications: a monotonic counter of {verification} by oauth2.verifier and oauth2.outcome, every pair', async () => {
    const { verifiers, verificationOutcomes: outcomes } = OAUTH2_METRIC_VALUES;
    expect([verifiers.length, outcomes.length]).toEqual([3, 9]);
    for (const verifier of verifiers) {
      outcomes.forEach((outcome, i) => {
        for (let n = 0; n <= i; n++) metrics.verification(verifier, outcome);
      });
    }
    const found = (await provider.collect()).get('oauth2.token.verifications');
    expect(found).toMatchObject({ unit: '{verification}', kind: 'sum', monotonic: true });
    expect(found?.points).toHaveLength(verifiers.length * outcomes.length);
    for (const verifier of verifiers) {
      outcomes.forEach((outcome, i) =>
        expect(found?.points).toContainEqual({
          attributes: { 'oauth2.verifier': verifier, 'oauth2.outcome': outcome },
          value: i + 1,
        }),
      );
    }
  });

  test('a verifier without a kind (a plain object as AccessTokenVerifier) counts as local', async () => {
    metrics.verification(undefined as unknown as OAuth2Verifier, 'valid');
    expect(
      await provider.value(NAMES.verifications, {
        'oauth2.verifier': 'local',
        'oauth2.outcome': 'valid',
      }),
    ).toBe(1);
  });

  test('oauth2.jwks.fetch.duration: a histogram in seconds by oauth2.outcome, its count the fetches', async () => {
    metrics.jwksFetch('ok', 120);
    metrics.jwksFetch('ok', 80);
    metrics.jwksFetch('error', 3);
    metrics.jwksFetch('timeout', 5000);
    const found = (await provider.collect()).get('oauth2.jwks.fetch.duration');
    expect(found).toMatchObject({ unit: 's', kind: 'histogram' });
    expect(found?.points).toEqual(
      expect.arrayContaining([
        { attributes: { 'oauth2.outcome': 'ok' }, value: { count: 2, sum: 0.2 } },
        { attributes: { 'oauth2.outcome': 'error' }, value: { count: 1, sum: 0.003 } },
        { attributes: { 'oauth2.outcome': 'timeout' }, value: { count: 1, sum: 5 } },
      ]),
    );
    expect(found?.points).toHaveLength(3);
  });

  test('oauth2.revocation_store.operation.duration: a histogram in seconds by oauth2.operation and oauth2.outcome', async () => {
    metrics.revocationStore('reload', 4, false);
    metrics.revocationStore('reload', 6, false);
    metrics.revocationStore('reload', 2000, true);
    metrics.revocationStore('revoke', 8, false);
    metrics.revocationStore('revoke', 1, true);
    const found = (await provider.collect()).get(NAMES.revocationStoreDuration);
    expect(found).toMatchObject({ unit: 's', kind: 'histogram' });
    const point = (operation: string, outcome: string) =>
      found?.points.find(
        (p) =>
          p.attributes['oauth2.operation'] === operation &&
          p.attributes['oauth2.outcome'] === outcome,
      )?.value;
    expect(point('reload', 'ok')).toEqual({ count: 2, sum: expect.closeTo(0.01, 9) });
    expect(point('reload', 'error')).toEqual({ count: 1, sum: 2 });
    expect(point('revoke', 'ok')).toEqual({ count: 1, sum: 0.008 });
    expect(point('revoke', 'error')).toEqual({ count: 1, sum: 0.001 });
    expect(found?.points).toHaveLength(4);
  });

  test('every instrument is named as the README documents, and nothing else is recorded', async () => {
    recordEach(metrics);
    expect([...(await provider.collect()).keys()].sort()).toEqual(Object.values(NAMES).sort());
  });
});
