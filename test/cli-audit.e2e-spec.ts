import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl } from '../src/cli/database-url.js';
import type { CliDependencies } from '../src/cli/run-cli.js';
import {
  InMemoryOAuth2ChangeFeed,
  InMemoryOAuth2RevocationStore,
  type OAuth2RevocationRecord,
} from '../src/index.js';
import type { RedisState } from '../src/redis/redis-state.js';
import { runCapturing, tempDir, type AuditLine, type CliResult } from './support/cli.js';

/**
 * Issue 12: every change the CLI makes to clients and keys is one audit line on stderr (Nest's JSON log
 * record, context OAuth2Audit), written by the store wrapper once the change succeeded; a refused command
 * writes none; no line, and nothing on stdout or stderr, holds a secret, a hash or key material.
 */

const KEK = randomBytes(32).toString('hex');
const CHOSEN = `chosen-${randomBytes(12).toString('hex')}`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let dir: ReturnType<typeof tempDir>;
let databaseUrl: string;
/** Every audit line, stdout and stderr written in this file, to scan at the end. */
const everything: string[] = [];
/** Secrets the CLI printed or was given: none may appear anywhere but where it was printed once. */
const secrets: string[] = [CHOSEN];
let audit: AuditLine[];

/** A store that records what the CLI revoked instead of reaching Redis. */
const recordingRedis: CliDependencies['connectRedis'] = async () =>
  ({
    feed: new InMemoryOAuth2ChangeFeed(),
    revocations: new (class extends InMemoryOAuth2RevocationStore {
      override async revoke(_revocation: OAuth2RevocationRecord): Promise<void> {}
    })(),
    close: async () => {},
  }) satisfies RedisState;

/** Runs the CLI; its audit lines go to `audit` (this command's only). */
async function cli(
  env: Record<string, string>,
  argv: string[],
  stdin?: string,
): Promise<CliResult & { audit: AuditLine[] }> {
  audit = [];
  const result = await runCapturing(
    argv,
    { DATABASE_URL: databaseUrl, OAUTH2_KEY_ENCRYPTION_KEY: KEK, ...env },
    dir.path,
    {
      connectRedis: recordingRedis,
      stdin:
        stdin === undefined
          ? undefined
          : { isTerminal: false, readAll: async () => `${stdin}\n`, prompt: async () => stdin },
    },
    {
      onAudit: (line) => {
        audit.push(line);
        everything.push(JSON.stringify(line));
      },
    },
  );
  everything.push(result.stdout, result.stderr);
  return { ...result, audit };
}
const ok = async (...argv: string[]) => {
  const result = await cli({}, argv);
  expect(result).toMatchObject({
    code: 0,
    stderr: expect.not.stringMatching(/nest-oauth2: (?!warning)/),
  });
  return result;
};
const refused = async (...argv: string[]) => {
  const result = await cli({}, argv);
  expect(result.code).not.toBe(0);
  expect(result.audit).toEqual([]);
  return result;
};

/** The fields of the audit lines, without the log record's own (level, pid, timestamp, context, message). */
const eventsOf = (lines: AuditLine[]): Record<string, unknown>[] =>
  lines.map(({ level, pid, timestamp, context, message, event, ...fields }) => {
    // The servers' default sink's line: a sentence, `event`, the fields; the record's `timestamp` is the time.
    expect({ level, context }).toEqual({ level: 'log', context: 'OAuth2Audit' });
    expect(message).toEqual(expect.stringMatching(/^[A-Z][^\n]+$/));
    expect(fields).not.toHaveProperty('type');
    expect(fields).not.toHaveProperty('time');
    expect(pid).toEqual(expect.any(Number));
    expect(timestamp).toEqual(expect.any(Number));
    expect(fields.source).toBe('cli');
    return { event, ...fields };
  });

beforeAll(async () => {
  dir = tempDir('oauth2-cli-audit-');
});
afterAll(() => dir.remove());

let counter = 0;
beforeEach(async () => {
  databaseUrl = `sqlite:./audit-${++counter}.sqlite`;
  expect((await cli({}, ['migrate'])).audit).toEqual([]);
});

describe('client changes', () => {
  test('create: created and secret_added for its generated secret; stdout stays the JSON result', async () => {
    const result = await ok('client', 'create', '--id', 'svc', '--scope', 'a', '--json');
    const created = JSON.parse(result.stdout) as { client_id: string; client_secret: string };
    secrets.push(created.client_secret);
    expect(created.client_id).toBe('svc');
    expect(eventsOf(result.audit)).toEqual([
      { event: 'oauth2.client.created', clientId: 'svc', source: 'cli' },
      {
        event: 'oauth2.client.secret_added',
        clientId: 'svc',
        secretId: 'primary',
        expiresAt: null,
        source: 'cli',
      },
    ]);
    expect(result.stdout).not.toContain('OAuth2Audit');
  });

  test('a public client: created alone; an existing id: refused, nothing', async () => {
    const result = await ok('client', 'create', '--id', 'pub', '--public');
    expect(eventsOf(result.audit)).toEqual([
      { event: 'oauth2.client.created', clientId: 'pub', source: 'cli' },
    ]);
    await refused('client', 'create', '--id', 'pub', '--public');
  });

  test('update names the fields changed; the same values again, or an invalid one, nothing', async () => {
    await ok('client', 'create', '--id', 'svc', '--public');
    const result = await ok(
      'client',
      'update',
      'svc',
      '--scope',
      'a b',
      '--access-token-lifetime',
      '60',
    );
    expect(eventsOf(result.audit)).toEqual([
      {
        event: 'oauth2.client.updated',
        clientId: 'svc',
        fields: ['scope', 'accessTokenLifetime'],
        source: 'cli',
      },
    ]);
    expect((await ok('client', 'update', 'svc', '--scope', 'a b')).audit).toEqual([]);
    await refused('client', 'update', 'svc', '--scope', 'bad"scope');
    await refused('client', 'update', 'nobody', '--scope', 'a');
  });

  test('a secret method given to a public client generates one: updated and secret_added', async () => {
    await ok('client', 'create', '--id', 'svc', '--public');
    const result = await ok(
      'client',
      'update',
      'svc',
      '--auth-method',
      'client_secret_basic',
      '--json',
    );
    secrets.push((JSON.parse(result.stdout) as { client_secret: string }).client_secret);
    expect(eventsOf(result.audit)).toEqual([
      {
        event: 'oauth2.client.updated',
        clientId: 'svc',
        fields: ['clientSecret', 'tokenEndpointAuthMethod'],
        source: 'cli',
      },
      {
        event: 'oauth2.client.secret_added',
        clientId: 'svc',
        secretId: 'primary',
        expiresAt: null,
        source: 'cli',
      },
    ]);
  });

  test('secret add, rotate-secret, secret revoke: one event per change, with ids and times', async () => {
    const created = await cli({}, ['client', 'create', '--id', 'svc2', '--secret-stdin'], CHOSEN);
    expect(created.code).toBe(0);

    const added = await cli({}, [
      'client',
      'secret',
      'add',
      'svc2',
      '--expires-in',
      '1h',
      '--json',
    ]);
    const addedJson = JSON.parse(added.stdout) as {
      secretId: string;
      secret: string;
      expiresAt: string;
    };
    secrets.push(addedJson.secret);
    expect(eventsOf(added.audit)).toEqual([
      {
        event: 'oauth2.client.secret_added',
        clientId: 'svc2',
        secretId: addedJson.secretId,
        expiresAt: addedJson.expiresAt,
        source: 'cli',
      },
    ]);

    const rotated = await cli({}, [
      'client',
      'rotate-secret',
      'svc2',
      '--keep-old-for',
      '24h',
      '--json',
    ]);
    const rotatedJson = JSON.parse(rotated.stdout) as {
      secretId: string;
      secret: string;
      expiring: { id: string; expiresAt: string }[];
    };
    secrets.push(rotatedJson.secret);
    const oldExpiry = rotatedJson.expiring.find((s) => s.id === 'primary')!.expiresAt;
    expect(eventsOf(rotated.audit)).toEqual([
      {
        event: 'oauth2.client.secret_added',
        clientId: 'svc2',
        secretId: rotatedJson.secretId,
        expiresAt: null,
        source: 'cli',
      },
      {
        event: 'oauth2.client.secret_rotated',
        clientId: 'svc2',
        secretId: rotatedJson.secretId,
        previousExpireAt: oldExpiry,
        source: 'cli',
      },
    ]);

    const before = Date.now();
    const revoked = await cli({}, ['client', 'secret', 'revoke', 'svc2', addedJson.secretId]);
    const revokedPrimary = await cli({}, ['client', 'secret', 'revoke', 'svc2', 'primary']);
    const events = eventsOf([...revoked.audit, ...revokedPrimary.audit]);
    expect(events).toEqual(
      [addedJson.secretId, 'primary'].map((secretId) => ({
        event: 'oauth2.client.secret_revoked',
        clientId: 'svc2',
        secretId,
        expiresAt: expect.stringMatching(ISO),
        source: 'cli',
      })),
    );
    for (const { expiresAt } of events) {
      expect(Date.parse(expiresAt as string)).toBeGreaterThanOrEqual(before);
    }
    await refused('client', 'secret', 'revoke', 'svc2', addedJson.secretId);
    await refused('client', 'secret', 'add', 'nobody');
    await refused('client', 'rotate-secret', 'nobody');
  });

  test('disable and delete; with REDIS_URL the tokens they revoke are oauth2.token.revoked', async () => {
    await ok('client', 'create', '--id', 'svc', '--public');
    const REDIS = { REDIS_URL: 'redis://default:hunter2@cache.internal:6379' };
    const before = Date.now();
    const disabled = await cli(REDIS, ['client', 'disable', 'svc']);
    expect(disabled.code).toBe(0);
    const [updated, revoked] = eventsOf(disabled.audit);
    expect(updated).toEqual({
      event: 'oauth2.client.updated',
      clientId: 'svc',
      fields: ['disabled'],
      source: 'cli',
    });
    expect(revoked).toEqual({
      event: 'oauth2.token.revoked',
      clientId: 'svc',
      jti: null,
      notBefore: expect.stringMatching(ISO),
      source: 'cli',
    });
    expect(Date.parse(revoked.notBefore as string)).toBeGreaterThanOrEqual(before);

    const tokens = await cli(REDIS, ['client', 'revoke-tokens', 'svc', '--json']);
    const { issued_until } = JSON.parse(tokens.stdout) as { issued_until: string };
    expect(eventsOf(tokens.audit)).toEqual([
      {
        event: 'oauth2.token.revoked',
        clientId: 'svc',
        jti: null,
        notBefore: issued_until,
        source: 'cli',
      },
    ]);

    const deleted = await cli({}, ['client', 'delete', 'svc']);
    expect(eventsOf(deleted.audit)).toEqual([
      { event: 'oauth2.client.deleted', clientId: 'svc', source: 'cli' },
    ]);
    await refused('client', 'delete', 'svc');
    await refused('client', 'disable', 'svc');
    expect(everything.join('\n')).not.toContain('hunter2');
  });

  test('reads and hash-legacy-secrets announce nothing', async () => {
    await cli({}, ['client', 'create', '--id', 'svc', '--secret-stdin'], CHOSEN);
    for (const argv of [
      ['client', 'list'],
      ['client', 'show', 'svc'],
      ['client', 'secret', 'list', 'svc'],
      ['client', 'hash-legacy-secrets'],
    ]) {
      expect((await ok(...argv)).audit).toEqual([]);
    }
  });
});

describe('key changes', () => {
  const QUICK = {
    OAUTH2_JWKS_MAX_AGE: '0',
    OAUTH2_KEY_REFRESH_INTERVAL: '1',
    OAUTH2_ACCESS_TOKEN_LIFETIME: '1',
  };
  const keys = async (...argv: string[]) => {
    const result = await cli(QUICK, ['keys', ...argv, '--json']);
    expect(result.code).toBe(0);
    return { ...result, json: JSON.parse(result.stdout) as unknown };
  };

  test('generate, activate, retire, prune: one event per key changed; refusals none', async () => {
    const first = (await keys('generate', '--alg', 'ES256', '--activate')).json as { kid: string };
    expect(eventsOf(audit)).toEqual([
      { event: 'oauth2.key.generated', kid: first.kid, algorithm: 'ES256', source: 'cli' },
      { event: 'oauth2.key.activated', kid: first.kid, algorithm: 'ES256', source: 'cli' },
    ]);
    const next = (await keys('generate')).json as { kid: string };
    expect(eventsOf(audit)).toEqual([
      { event: 'oauth2.key.generated', kid: next.kid, algorithm: 'RS256', source: 'cli' },
    ]);
    expect((await cli({}, ['keys', 'activate', next.kid])).audit).toEqual([]);
    await refused('keys', 'retire', first.kid);

    await keys('activate', next.kid, '--force');
    expect(eventsOf(audit)).toEqual([
      { event: 'oauth2.key.activated', kid: next.kid, algorithm: 'RS256', source: 'cli' },
      { event: 'oauth2.key.retired', kid: first.kid, algorithm: 'ES256', source: 'cli' },
    ]);
    await keys('activate', next.kid);
    expect(audit).toEqual([]);

    const spare = (await keys('generate', '--alg', 'PS256')).json as { kid: string };
    await keys('retire', spare.kid);
    expect(eventsOf(audit)).toEqual([
      { event: 'oauth2.key.retired', kid: spare.kid, algorithm: 'PS256', source: 'cli' },
    ]);
    await keys('retire', spare.kid);
    expect(audit).toEqual([]);

    // Retired keys are pruned once no token they signed can live: 1 s lifetime + 1 s refresh interval.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const pruned = (await keys('prune')).json as { kid: string }[];
    expect(pruned.map((key) => key.kid).sort()).toEqual([first.kid, spare.kid].sort());
    expect(eventsOf(audit).sort((a, b) => String(a.kid).localeCompare(String(b.kid)))).toEqual(
      [
        { event: 'oauth2.key.pruned', kid: first.kid, algorithm: 'ES256', source: 'cli' },
        { event: 'oauth2.key.pruned', kid: spare.kid, algorithm: 'PS256', source: 'cli' },
      ].sort((a, b) => a.kid.localeCompare(b.kid)),
    );
  }, 120_000);

  test('no audit line, stdout or stderr holds key material', async () => {
    await keys('generate', '--activate');
    const dataSource = new DataSource({
      ...databaseOptionsFromUrl(databaseUrl, dir.path),
      entities: [],
    });
    await dataSource.initialize();
    const rows = (await dataSource.query(
      'SELECT sealed_private_key, public_jwk FROM oauth_signing_keys',
    )) as { sealed_private_key: string; public_jwk: string }[];
    await dataSource.destroy();
    const text = everything.join('\n');
    expect(rows).toHaveLength(1);
    for (const row of rows) {
      expect(text).not.toContain(row.sealed_private_key);
      expect(text).not.toContain((JSON.parse(row.public_jwk) as { n: string }).n);
    }
    expect(text).not.toContain(KEK);
  });
});

test('no audit line holds a secret the tests created; the chosen one, or a hash, is nowhere', () => {
  const auditText = everything.filter((text) => text.startsWith('{"level"')).join('\n');
  expect(secrets.length).toBeGreaterThan(4);
  for (const secret of secrets) expect(auditText).not.toContain(secret);
  expect(everything.join('\n')).not.toContain(CHOSEN);
  expect(everything.join('\n')).not.toMatch(/\$scrypt\$|\$hmac-sha256\$|\$aes-256-gcm\$/);
});
