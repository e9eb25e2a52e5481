import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  jest,
  test,
} from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DataSource } from 'typeorm';
import { ClientSecretHasher, InMemoryOAuthClientRepository, OAuthClient } from '../src/index.js';
import {
  LIFECYCLE_DEFAULTS,
  interruptedAfter,
  readClientRows,
  runCapturing,
  tempDir,
  type CliResult,
  type StoredClientRow,
} from './support/cli.js';
import { databaseOptionsFromUrl } from '../src/cli/database-url.js';
import type { SecretInput } from '../src/cli/secret-input.js';
import { startApp } from './support/app.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { fixtures, testOptions } from './support/fixtures.js';
import { basicHeader, GRANT, tokenRequest } from './support/oauth.js';

const hasher = new ClientSecretHasher();
const SECRET_LINE = /^Client secret: (\S+)$/m;
const STORE_IT_NOW = 'Store it now: it cannot be shown again.';
const SECRET_WARNING =
  'nest-oauth2: warning: --secret is visible to other users in the process list and stays in the ' +
  'shell history: prefer --secret-stdin\n';
const MIGRATION = 'OAuth2CreateClientTable_oauth_clients_1795564800000';
const COLLATION_MIGRATION = 'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000';
const KEY_MIGRATION = 'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000';
const LIFECYCLE_MIGRATION = 'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000';
const SECRET_TABLE_MIGRATION = 'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000';
/** Every migration of the default tables, in the order they run. */
const MIGRATIONS = [
  MIGRATION,
  COLLATION_MIGRATION,
  KEY_MIGRATION,
  LIFECYCLE_MIGRATION,
  SECRET_TABLE_MIGRATION,
];
const APPLIED = MIGRATIONS.map((name) => `Applied ${name}\n`).join('');

/** The lifecycle settings of a client view when none is set. */
const VIEW_DEFAULTS = {
  token_endpoint_auth_method: null,
  access_token_lifetime: null,
  audience: null,
  jwks_uri: null,
  jwks_inline: false,
  disabled: false,
} as const;

/** A private_key_jwt client with the keys of keys.json. */
const PRIVATE_KEY_JWT = ['--auth-method', 'private_key_jwt'];
const WITH_KEYS_FILE = [...PRIVATE_KEY_JWT, '--jwks-file', 'keys.json'];

let dir: ReturnType<typeof tempDir>;
let databaseUrl: string;

/** The CLI against this test's SQLite file. */
const cli = (...argv: string[]): Promise<CliResult> =>
  runCapturing(argv, { DATABASE_URL: databaseUrl }, dir.path);

const rows = (): Promise<StoredClientRow[]> => readClientRows(databaseUrl, dir.path);
const row = async (clientId: string): Promise<StoredClientRow | undefined> =>
  (await rows()).find((r) => r.client_id === clientId);

/** An expected failure: the exit status, one line on stderr, nothing on stdout, no stack trace. */
function expectFailure(result: CliResult, code: number, message: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^nest-oauth2: .+\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** Nothing the CLI writes may hold a secret's hash. */
function expectNoHash(result: CliResult): void {
  expect(result.stdout + result.stderr).not.toMatch(/\$scrypt\$|\$hmac-sha256\$/);
}

beforeAll(() => {
  dir = tempDir('oauth2-cli-');
});
afterAll(() => dir.remove());

let counter = 0;
/** A database file no command has touched yet, in a folder the CLI must create. */
const freshDatabase = (): string => `sqlite:./db-${++counter}/clients.sqlite`;
beforeEach(async () => {
  // A fresh, migrated database file per test.
  databaseUrl = freshDatabase();
  expect(await cli('migrate')).toEqual({ code: 0, stdout: APPLIED, stderr: '' });
});

describe('client create', () => {
  test('generates a secret, prints it once and stores only its keyed digest', async () => {
    const result = await cli('client', 'create', '--id', 'svc', '--scope', 'reports:read x');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain("Created confidential client 'svc'.");
    expect(result.stdout).toContain(STORE_IT_NOW);
    const secret = SECRET_LINE.exec(result.stdout)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.stdout.split(secret!).length).toBe(2);
    expectNoHash(result);

    // Client secrets' digests live in it: only its owner may read the file and its folder.
    expect(statSync(join(dir.path, `db-${counter}`)).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir.path, `db-${counter}`, 'clients.sqlite')).mode & 0o777).toBe(0o600);
    const stored = await row('svc');
    expect(stored).toEqual({
      client_id: 'svc',
      client_secret: expect.stringMatching(/^\$hmac-sha256\$/),
      redirect_uri: null,
      grant_types: 'client_credentials',
      scope: 'reports:read x',
      user_id: null,
      ...LIFECYCLE_DEFAULTS,
    });
    expect(stored!.client_secret).not.toContain(secret!);
    await expect(hasher.verify(secret!, stored!.client_secret!)).resolves.toBe(true);
    await expect(hasher.verify(secret! + 'x', stored!.client_secret!)).resolves.toBe(false);
  });

  test('--json gives the client and the generated secret', async () => {
    const result = await cli(
      'client',
      'create',
      '--id',
      'svc',
      '--grant-types',
      'client_credentials',
      '--scope',
      'a b',
      '--user-id',
      'user-7',
      '--redirect-uri',
      'https://app.example/cb',
      '--json',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const body = JSON.parse(result.stdout);
    expect(body).toEqual({
      client_id: 'svc',
      client_type: 'confidential',
      grant_types: ['client_credentials'],
      scope: 'a b',
      user_id: 'user-7',
      redirect_uri: 'https://app.example/cb',
      ...VIEW_DEFAULTS,
      client_secret: expect.any(String),
    });
    expectNoHash(result);
    const stored = await row('svc');
    expect(stored).toMatchObject({ user_id: 'user-7', redirect_uri: 'https://app.example/cb' });
    await expect(hasher.verify(body.client_secret, stored!.client_secret!)).resolves.toBe(true);
  });

  test('--secret is hashed and never echoed', async () => {
    const result = await cli(
      'client',
      'create',
      '--id',
      'legacy',
      '--secret',
      'testpass-chosen-by-a-person',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('testpass-chosen-by-a-person');
    expect(result.stdout).not.toMatch(SECRET_LINE);
    expectNoHash(result);
    const stored = await row('legacy');
    expect(stored!.client_secret).toMatch(/^\$scrypt\$/);
    expect(stored!.client_secret).not.toContain('testpass-chosen-by-a-person');
    await expect(
      hasher.verify('testpass-chosen-by-a-person', stored!.client_secret!),
    ).resolves.toBe(true);

    const json = await cli(
      'client',
      'create',
      '--id',
      'legacy2',
      '--secret=-dash-then-a-chosen-secret',
      '--json',
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).not.toHaveProperty('client_secret');
    await expect(
      hasher.verify('-dash-then-a-chosen-secret', (await row('legacy2'))!.client_secret!),
    ).resolves.toBe(true);
  });

  test('--public stores no secret and warns that the server must allow public clients', async () => {
    const result = await cli('client', 'create', '--id', 'spa', '--public', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      client_id: 'spa',
      client_type: 'public',
      grant_types: ['client_credentials'],
      scope: null,
      user_id: null,
      redirect_uri: null,
      ...VIEW_DEFAULTS,
    });
    expect(result.stderr).toMatch(/^nest-oauth2: warning: .*allowPublicClients/);
    expect((await row('spa'))!.client_secret).toBeNull();
  });

  test('grant types without client_credentials are stored, with a warning', async () => {
    const result = await cli(
      'client',
      'create',
      '--id',
      'web',
      '--grant-types',
      'authorization_code',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: the grant types do not include client_credentials/);
    expect((await row('web'))!.grant_types).toBe('authorization_code');
  });

  test('a duplicate id is refused and the stored client is untouched', async () => {
    expect(
      (await cli('client', 'create', '--id', 'svc', '--secret', 'first-secret-of-twenty-chars'))
        .code,
    ).toBe(0);
    const before = await row('svc');
    const result = await cli('client', 'create', '--id', 'svc', '--public');
    expectFailure(result, 1, /client 'svc' already exists/);
    expect(await row('svc')).toEqual(before);
  });

  test.each([
    [['--scope', 'a "b'], /--scope: scope must be space-separated RFC 6749 §3\.3 scope tokens/],
    [['--scope', 'a  b'], /--scope: /],
    [['--scope', ''], /--scope: /],
    [
      ['--grant-types', 'client_credentials \\x'],
      /--grant-types: grant_types must be space-separated/,
    ],
    [['--user-id', 'u'.repeat(81)], /--user-id: /],
  ])('%j breaks the entity rules: exit 1, nothing stored', async (flags, message) => {
    const result = await cli('client', 'create', '--id', 'svc', ...flags);
    expectFailure(result, 1, message);
    expect(result.stderr).toMatch(/^nest-oauth2: invalid client: /);
    expect(await rows()).toEqual([]);
  });

  test.each([
    ['bad\tid', /--id: client_id must be printable ASCII/],
    ['x'.repeat(81), /--id: /],
  ])('client id %j is refused', async (clientId, message) => {
    expectFailure(await cli('client', 'create', '--id', clientId), 1, message);
  });

  test('an empty --secret is refused, after the warning every --secret gets', async () => {
    const result = await cli('client', 'create', '--id', 'svc', '--secret', '');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `${SECRET_WARNING}nest-oauth2: --secret must not be empty\n`,
    });
  });

  test.each([
    [['client', 'create'], /'client create' needs --id <id>/],
    [['client', 'create', '--id'], /option '--id' needs a value/],
    [['client', 'create', '--id', '--json'], /option '--id' needs a value/],
    [['client', 'create', '--id', 'x', '--public', '--secret', 's'], /--public and --secret /],
    [
      ['client', 'create', '--id', 'x', '--secret-stdin', '--public'],
      /--public and --secret-stdin/,
    ],
    [
      ['client', 'create', '--id', 'x', '--secret', 's', '--secret-stdin'],
      /--secret and --secret-st/,
    ],
    [['client', 'create', '--id', 'x', '--auth-method', 'basic'], /--auth-method must be one of/],
    [['client', 'create', '--id', 'x', '--access-token-lifetime', '1w'], /a duration as whole/],
    [['client', 'create', '--id', 'x', '--jwks-file', 'a', '--jwks-uri', 'b'], /--jwks-file and/],
    [['client', 'create', '--id', 'a', '--id', 'b'], /'--id' is given more than once/],
    [['client', 'create', '--id', 'a', '--public=yes'], /'--public' takes no value/],
    [['client', 'create', '--id', 'a', '--colour', 'red'], /unknown option '--colour'/],
    [['client', 'create', '--id', 'a', 'extra'], /unexpected argument 'extra'/],
  ])('usage error %j: exit 2, no database touched', async (argv, message) => {
    databaseUrl = freshDatabase();
    const result = await cli(...argv);
    expectFailure(result, 2, message);
    expect(result.stderr).toContain('(see nest-oauth2 --help)');
    expect(existsSync(join(dir.path, `db-${counter}`))).toBe(false);
  });
});

describe('client list / show', () => {
  beforeEach(async () => {
    expect(
      (await cli('client', 'create', '--id', 'zeta', '--secret', 'zz-a-secret-of-twenty-chars'))
        .code,
    ).toBe(0);
    expect(
      (
        await cli(
          'client',
          'create',
          '--id',
          'alpha',
          '--public',
          '--scope',
          'reports:read',
          '--user-id',
          'u-1',
        )
      ).code,
    ).toBe(0);
  });

  test('list shows id, type, grant types, scope and user id, ordered by id', async () => {
    const result = await cli('client', 'list');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^CLIENT ID\s+TYPE\s+AUTH METHOD\s+GRANT TYPES\s+SCOPE\s+USER ID\s+STATUS$/,
    );
    expect(lines[1]).toMatch(
      /^alpha\s+public\s+-\s+client_credentials\s+reports:read\s+u-1\s+enabled$/,
    );
    expect(lines[2]).toMatch(/^zeta\s+confidential\s+-\s+client_credentials\s+-\s+-\s+enabled$/);
    expectNoHash(result);
  });

  test('list --json', async () => {
    const result = await cli('client', 'list', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        client_id: 'alpha',
        client_type: 'public',
        grant_types: ['client_credentials'],
        scope: 'reports:read',
        user_id: 'u-1',
        redirect_uri: null,
        ...VIEW_DEFAULTS,
      },
      {
        client_id: 'zeta',
        client_type: 'confidential',
        grant_types: ['client_credentials'],
        scope: null,
        user_id: null,
        redirect_uri: null,
        ...VIEW_DEFAULTS,
      },
    ]);
    expectNoHash(result);
  });

  test('show <id> and show <id> --json', async () => {
    const result = await cli('client', 'show', 'zeta');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^client_id:\s+zeta$/m);
    expect(result.stdout).toMatch(/^client_type:\s+confidential$/m);
    expect(result.stdout).toMatch(/^grant_types:\s+client_credentials$/m);
    expect(result.stdout).not.toContain('zz');
    expectNoHash(result);

    const json = await cli('client', 'show', '--json', 'alpha');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ client_id: 'alpha', client_type: 'public' });
  });

  test('show of an unknown id: exit 1', async () => {
    expectFailure(await cli('client', 'show', 'nobody'), 1, /no client with id 'nobody'/);
  });

  test.each([
    [['client', 'show'], /'client show' needs a client id/],
    [['client', 'show', 'a', 'b'], /unexpected argument 'b'/],
    [['client', 'list', '--scope', 'x'], /unknown option '--scope' for 'client list'/],
    [['client', 'list', 'x'], /unexpected argument 'x'/],
  ])('usage error %j: exit 2', async (argv, message) => {
    expectFailure(await cli(...argv), 2, message);
  });
});

test('list of an empty database', async () => {
  const human = await cli('client', 'list');
  expect(human).toEqual({ code: 0, stdout: 'No clients.\n', stderr: '' });
  const json = await cli('client', 'list', '--json');
  expect(JSON.parse(json.stdout)).toEqual([]);
});

/** A command that succeeded without a warning: what it printed as JSON. */
function jsonOf(result: CliResult) {
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout);
}

/** The stored secret rows, as plain SQL reads them. */
const secretRows = () =>
  sql<Array<{ id: string; client_id: string; secret_hash: string; expires_at: number | null }>>(
    'SELECT id, client_id, secret_hash, expires_at FROM oauth_client_secrets ORDER BY created_at, id',
  );

/** A chosen secret piped to stdin. */
const piped = (text: string): SecretInput => ({
  isTerminal: false,
  readAll: async () => text,
  prompt: () => Promise.reject(new Error('not a terminal')),
});

/** The CLI with `stdin` as its stdin. */
const cliWithStdin = (stdin: SecretInput, ...argv: string[]): Promise<CliResult> =>
  runCapturing(argv, { DATABASE_URL: databaseUrl }, dir.path, { stdin });

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** An ISO time about `seconds` from now (a minute either way: no timing assertion). */
const about = (iso: string, seconds: number) =>
  expect(Math.abs(Date.parse(iso) - Date.now() - seconds * 1000)).toBeLessThan(60_000);

describe('client rotate-secret', () => {
  test('without --keep-old-for: a new secret row, and the old secret stops at once', async () => {
    expect(
      (await cli('client', 'create', '--id', 'svc', '--secret', 'old-secret-of-twenty-chars')).code,
    ).toBe(0);
    const result = await cli('client', 'rotate-secret', 'svc');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [, secretId] = /^Rotated the secret of client 'svc': new secret ([0-9a-f]{32})\.\n/.exec(
      result.stdout,
    )!;
    expect(result.stdout).toContain(STORE_IT_NOW);
    expect(result.stdout).toMatch(/^Secret primary stops at \S+Z\.$/m);
    expectNoHash(result);
    const secret = SECRET_LINE.exec(result.stdout)![1];
    const [added] = await secretRows();
    expect(added).toMatchObject({ id: secretId, client_id: 'svc', expires_at: null });
    expect(added.secret_hash).toMatch(/^\$hmac-sha256\$/);
    await expect(hasher.verify(secret, added.secret_hash)).resolves.toBe(true);
    const primary = (await row('svc'))!;
    await expect(hasher.verify('old-secret-of-twenty-chars', primary.client_secret!)).resolves.toBe(
      true,
    );
    expect(Number(primary.client_secret_expires_at)).toBeLessThanOrEqual(Date.now());

    // Again, as JSON: the previous new secret now expires too.
    const json = await cli('client', 'rotate-secret', 'svc', '--json');
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toEqual({
      clientId: 'svc',
      secretId: expect.stringMatching(/^[0-9a-f]{32}$/),
      secret: expect.stringMatching(/^[\w-]{43}$/),
      expiresAt: null,
      expiring: [{ id: secretId, expiresAt: expect.stringMatching(ISO) }],
    });
    expect(body.secret).not.toBe(secret);
    expectNoHash(json);
  });

  test('--keep-old-for 24h: every other secret expires then; an earlier expiry is kept', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    const soon = JSON.parse(
      (await cli('client', 'secret', 'add', 'svc', '--expires-in', '1h', '--json')).stdout,
    );
    const later = JSON.parse(
      (await cli('client', 'secret', 'add', 'svc', '--expires-in', '90d', '--json')).stdout,
    );
    const result = await cli('client', 'rotate-secret', 'svc', '--keep-old-for', '24h', '--json');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body.expiring.map((old: { id: string }) => old.id)).toEqual([
      'primary',
      soon.secretId,
      later.secretId,
    ]);
    const [primary, first, second] = body.expiring;
    about(primary.expiresAt, 86400);
    expect(first.expiresAt).toBe(soon.expiresAt);
    expect(second.expiresAt).toBe(primary.expiresAt);
    const listed = JSON.parse((await cli('client', 'secret', 'list', 'svc', '--json')).stdout);
    expect(
      listed.map((s: { id: string; expiresAt: string | null }) => [s.id, s.expiresAt]),
    ).toEqual([
      ['primary', primary.expiresAt],
      [soon.secretId, soon.expiresAt],
      [later.secretId, primary.expiresAt],
      [body.secretId, null],
    ]);
  });

  test.each([
    [['--keep-old-for', '24'], /--keep-old-for must be a duration as <n>s\|m\|h\|d/],
    [['--keep-old-for', '1y'], /--keep-old-for must be a duration/],
    [['--keep-old-for', '3651d'], /--keep-old-for must be from 0s to 3650d/],
  ])('%j: exit 2, nothing changed', async (flags, message) => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expectFailure(await cli('client', 'rotate-secret', 'svc', ...flags), 2, message);
    expect(await secretRows()).toEqual([]);
  });

  test('a public client, or one using private_key_jwt, has no secret to rotate', async () => {
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    expectFailure(await cli('client', 'rotate-secret', 'spa'), 1, /'spa' is a public client/);
    expect((await row('spa'))!.client_secret).toBeNull();
    await jwksFile('keys.json', { keys: [await publicJwk()] });
    expect((await cli('client', 'create', '--id', 'pk', ...WITH_KEYS_FILE)).code).toBe(0);
    expectFailure(
      await cli('client', 'rotate-secret', 'pk'),
      1,
      /client 'pk' authenticates with private_key_jwt: its keys, not a secret/,
    );
    expect(await secretRows()).toEqual([]);
  });

  test('unknown id: exit 1', async () => {
    expectFailure(await cli('client', 'rotate-secret', 'nobody'), 1, /no client with id 'nobody'/);
  });
});

describe('client secret add / list / revoke', () => {
  beforeEach(async () => {
    expect(
      (await cli('client', 'create', '--id', 'svc', '--secret', 'first-secret-of-twenty-chars'))
        .code,
    ).toBe(0);
  });

  test('add: a generated secret printed once, its digest stored in a new row; --expires-in', async () => {
    const result = await cli('client', 'secret', 'add', 'svc');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [, id] = /^Added secret ([0-9a-f]{32}) to client 'svc'\.\n/.exec(result.stdout)!;
    const secret = SECRET_LINE.exec(result.stdout)![1];
    expect(result.stdout).toContain(STORE_IT_NOW);
    expectNoHash(result);
    const [stored] = await secretRows();
    expect(stored).toMatchObject({ id, expires_at: null });
    await expect(hasher.verify(secret, stored.secret_hash)).resolves.toBe(true);

    const json = await cli('client', 'secret', 'add', 'svc', '--expires-in', '90d', '--json');
    const body = JSON.parse(json.stdout);
    expect(Object.keys(body)).toEqual(['clientId', 'secretId', 'secret', 'expiresAt']);
    expect(body).toEqual({
      clientId: 'svc',
      secretId: expect.stringMatching(/^[0-9a-f]{32}$/),
      secret: expect.stringMatching(/^[\w-]{43}$/),
      expiresAt: expect.stringMatching(ISO),
    });
    about(body.expiresAt, 90 * 86400);
    expect(body.secretId).not.toBe(id);
    const text = await cli('client', 'secret', 'add', 'svc', '--expires-in', '15m');
    expect(text.stdout).toMatch(/^Added secret [0-9a-f]{32} to client 'svc', valid until \S+Z\.\n/);
  });

  test('add --secret-stdin: a chosen secret, not echoed, shares the salt of the scrypt hash it joins', async () => {
    const result = await cliWithStdin(
      piped('second secret of twenty chars\n'),
      'client',
      'secret',
      'add',
      'svc',
      '--secret-stdin',
      '--json',
    );
    const body = jsonOf(result);
    expect(body).toEqual({
      clientId: 'svc',
      secretId: expect.stringMatching(/^[0-9a-f]{32}$/),
      secret: null,
      expiresAt: null,
    });
    expect(result.stdout).not.toContain('second secret of twenty chars');
    const [stored] = await secretRows();
    // One trailing newline is not part of the secret.
    await expect(hasher.verify('second secret of twenty chars', stored.secret_hash)).resolves.toBe(
      true,
    );
    await expect(
      hasher.verify('second secret of twenty chars\n', stored.secret_hash),
    ).resolves.toBe(false);
    const primary = (await row('svc'))!.client_secret!;
    expect(hasher.scryptGroupOf(stored.secret_hash)).toBe(hasher.scryptGroupOf(primary));
    expect(stored.secret_hash).not.toBe(primary);

    const text = await cliWithStdin(
      piped('third secret of twenty chars'),
      'client',
      'secret',
      'add',
      'svc',
      '--secret-stdin',
    );
    expect(text.stdout).toMatch(/^Added secret [0-9a-f]{32} to client 'svc'\.\n$/);
  });

  test('add --secret: works, with the process-list warning', async () => {
    const result = await cli(
      'client',
      'secret',
      'add',
      'svc',
      '--secret',
      'on-the-line-secret-twenty',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(SECRET_WARNING);
    expect(result.stdout).not.toContain('on-the-line-secret-twenty');
    await expect(
      hasher.verify('on-the-line-secret-twenty', (await secretRows())[0].secret_hash),
    ).resolves.toBe(true);
  });

  test('on a terminal, --secret-stdin asks twice without echo; a mismatch changes nothing', async () => {
    const answers = ['typed-secret-of-twenty-chars', 'typed-secret-of-twenty-chars'];
    const questions: string[] = [];
    const terminal: SecretInput = {
      isTerminal: true,
      readAll: () => Promise.reject(new Error('a terminal is not read to its end')),
      prompt: async (question) => {
        questions.push(question);
        return answers.shift()!;
      },
    };
    const result = await cliWithStdin(terminal, 'client', 'secret', 'add', 'svc', '--secret-stdin');
    expect(result.code).toBe(0);
    expect(questions).toEqual(['Client secret: ', 'Again: ']);
    await expect(
      hasher.verify('typed-secret-of-twenty-chars', (await secretRows())[0].secret_hash),
    ).resolves.toBe(true);

    answers.push('one', 'other');
    expectFailure(
      await cliWithStdin(terminal, 'client', 'secret', 'add', 'svc', '--secret-stdin'),
      1,
      /^nest-oauth2: the two secrets typed differ: nothing was changed\n$/,
    );
    expect(await secretRows()).toHaveLength(1);
  });

  test.each([[''], ['\n']])('an empty secret on stdin (%j) is refused', async (text) => {
    expectFailure(
      await cliWithStdin(piped(text), 'client', 'secret', 'add', 'svc', '--secret-stdin'),
      1,
      /^nest-oauth2: the secret read from stdin is empty\n$/,
    );
    expect(await secretRows()).toEqual([]);
  });

  test.each([
    [['--expires-in', '90'], 2, /--expires-in must be a duration as <n>s\|m\|h\|d/],
    [['--expires-in', '0s'], 2, /--expires-in must be from 1s to 3650d/],
    [['--secret', 'a', '--secret-stdin'], 2, /--secret and --secret-stdin cannot be used together/],
    [['--public'], 2, /unknown option '--public' for 'client secret add'/],
  ])('add %j: refused', async (flags, code, message) => {
    const result = await cli('client', 'secret', 'add', 'svc', ...flags);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(await secretRows()).toEqual([]);
  });

  test('add to a public client or an unknown one: exit 1', async () => {
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    expectFailure(
      await cli('client', 'secret', 'add', 'spa'),
      1,
      /^nest-oauth2: client 'spa' is a public client and has no secret\n$/,
    );
    expectFailure(await cli('client', 'secret', 'add', 'nobody'), 1, /no client with id 'nobody'/);
    expect(await secretRows()).toEqual([]);
  });

  test('list: primary first, then the rows; text marks the expired; never a hash', async () => {
    const added = JSON.parse((await cli('client', 'secret', 'add', 'svc', '--json')).stdout);
    expect((await cli('client', 'rotate-secret', 'svc', '--keep-old-for', '1h')).code).toBe(0);
    expect((await cli('client', 'secret', 'revoke', 'svc', 'primary')).code).toBe(0);
    const json = await cli('client', 'secret', 'list', 'svc', '--json');
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout);
    expect(listed).toEqual([
      { id: 'primary', createdAt: null, expiresAt: expect.stringMatching(ISO), lastUsedAt: null },
      {
        id: added.secretId,
        createdAt: expect.stringMatching(ISO),
        expiresAt: expect.stringMatching(ISO),
        lastUsedAt: null,
      },
      {
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        createdAt: expect.stringMatching(ISO),
        expiresAt: null,
        lastUsedAt: null,
      },
    ]);
    expectNoHash(json);
    const text = await cli('client', 'secret', 'list', 'svc');
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +CREATED +EXPIRES +LAST USED$/);
    expect(lines[1]).toMatch(/^primary +- +\S+Z \(expired\) +-$/);
    expect(lines[2]).toMatch(new RegExp(`^${added.secretId} +\\S+Z +\\S+Z +-$`));
    expect(lines[3]).toMatch(/^[0-9a-f]{32} +\S+Z +never +-$/);
    expectNoHash(text);
  });

  test('list of a public client: none; of an unknown client: exit 1', async () => {
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    expect(await cli('client', 'secret', 'list', 'spa')).toEqual({
      code: 0,
      stdout: 'No secrets.\n',
      stderr: '',
    });
    expectFailure(await cli('client', 'secret', 'list', 'nobody'), 1, /no client with id 'nobody'/);
  });

  test('revoke: a row is removed; primary is expired, not emptied; warned when none is left', async () => {
    const added = JSON.parse((await cli('client', 'secret', 'add', 'svc', '--json')).stdout);
    expect(await cli('client', 'secret', 'revoke', 'svc', added.secretId)).toEqual({
      code: 0,
      stdout: `Revoked secret ${added.secretId} of client 'svc'.\n`,
      stderr: '',
    });
    expect(await secretRows()).toEqual([]);

    const json = await cli('client', 'secret', 'revoke', 'svc', 'primary', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ clientId: 'svc', secretId: 'primary', remaining: 0 });
    expect(json.stderr).toBe(
      "nest-oauth2: warning: client 'svc' has no unexpired secret left: it cannot authenticate until you add one (client secret add)\n",
    );
    const stored = (await row('svc'))!;
    expect(stored.client_secret).toMatch(/^\$scrypt\$/);
    expect(Number(stored.client_secret_expires_at)).toBeLessThanOrEqual(Date.now());
    // Still a confidential client: a secret can be added again.
    expect((await cli('client', 'secret', 'add', 'svc')).code).toBe(0);
  });

  test('revoke an unknown secret id, or of an unknown client: exit 1', async () => {
    expectFailure(
      await cli('client', 'secret', 'revoke', 'svc', 'nope'),
      1,
      /^nest-oauth2: client 'svc' has no secret 'nope'\n$/,
    );
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    expectFailure(
      await cli('client', 'secret', 'revoke', 'spa', 'primary'),
      1,
      /client 'spa' has no secret 'primary'/,
    );
    const other = JSON.parse((await cli('client', 'secret', 'add', 'svc', '--json')).stdout);
    expect((await cli('client', 'create', '--id', 'two')).code).toBe(0);
    // Another client's secret id is not this client's.
    expectFailure(
      await cli('client', 'secret', 'revoke', 'two', other.secretId),
      1,
      /client 'two' has no secret/,
    );
    expect(await secretRows()).toHaveLength(1);
  });

  test('delete removes the client with its secrets', async () => {
    expect((await cli('client', 'secret', 'add', 'svc')).code).toBe(0);
    expect((await cli('client', 'delete', 'svc')).code).toBe(0);
    expect(await secretRows()).toEqual([]);
  });
});

/** A public JWK of a new key pair (RS256 unless told), as a client would publish it. */
async function publicJwk(alg: 'RS256' | 'ES256' = 'RS256', kid = 'k1'): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg };
}

/** Writes a file in the CLI's working folder, JSON unless a string is given. */
async function jwksFile(name: string, content: unknown): Promise<void> {
  await writeFile(
    join(dir.path, name),
    typeof content === 'string' ? content : JSON.stringify(content),
  );
}

describe('client create / update: method, keys, lifetime, audience, user', () => {
  test('create with every setting; show and --json give them, never key material', async () => {
    const jwk = await publicJwk('ES256');
    await jwksFile('keys.json', { keys: [jwk] });
    const result = await cli(
      'client',
      'create',
      '--id',
      'pk',
      ...WITH_KEYS_FILE,
      '--access-token-lifetime',
      '15m',
      '--audience',
      'https://api.example/a  urn:example:b',
      '--scope',
      'a',
      '--json',
    );
    expect(jsonOf(result)).toEqual({
      client_id: 'pk',
      client_type: 'confidential',
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      scope: 'a',
      user_id: null,
      redirect_uri: null,
      access_token_lifetime: 900,
      audience: ['https://api.example/a', 'urn:example:b'],
      jwks_uri: null,
      jwks_inline: true,
      disabled: false,
    });
    expect(result.stdout).not.toContain(jwk.x!);
    const stored = (await row('pk'))!;
    expect(stored).toMatchObject({
      client_secret: null,
      token_endpoint_auth_method: 'private_key_jwt',
      access_token_lifetime: 900,
      audience: 'https://api.example/a urn:example:b',
    });
    expect(JSON.parse(stored.jwks!)).toEqual({ keys: [jwk] });

    const shown = await cli('client', 'show', 'pk');
    expect(shown.stdout).toMatch(/^token_endpoint_auth_method: +private_key_jwt$/m);
    expect(shown.stdout).toMatch(/^access_token_lifetime: +900 s$/m);
    expect(shown.stdout).toMatch(/^audience: +https:\/\/api\.example\/a urn:example:b$/m);
    expect(shown.stdout).toMatch(/^jwks: +\(inline, set\)$/m);
    expect(shown.stdout).toMatch(/^disabled: +no$/m);
    expect(shown.stdout).not.toContain(jwk.x!);
  });

  test('--auth-method none: a public client; --jwks-uri for private_key_jwt', async () => {
    const none = await cli('client', 'create', '--id', 'spa', '--auth-method', 'none', '--json');
    expect(JSON.parse(none.stdout)).toMatchObject({
      client_type: 'public',
      token_endpoint_auth_method: 'none',
    });
    expect(none.stderr).toMatch(/allowPublicClients/);
    const uri = await cli(
      'client',
      'create',
      '--id',
      'pk',
      ...PRIVATE_KEY_JWT,
      '--jwks-uri',
      'https://client.example/jwks.json',
      '--json',
    );
    expect(uri.code).toBe(0);
    expect(JSON.parse(uri.stdout)).toMatchObject({
      jwks_uri: 'https://client.example/jwks.json',
      jwks_inline: false,
    });
    const local = await cli(
      'client',
      'create',
      '--id',
      'dev',
      ...PRIVATE_KEY_JWT,
      '--jwks-uri',
      'http://127.0.0.1:8080/jwks',
    );
    expect(local.code).toBe(0);
  });

  test.each([
    [PRIVATE_KEY_JWT, /private_key_jwt needs the client's public keys/],
    [['--auth-method', 'none', '--secret-stdin'], /a client that uses none has no secret/],
    [['--public', '--auth-method', 'client_secret_basic'], /a public client \(--public\) cannot/],
    [['--jwks-uri', 'https://c.example/j'], /are for --auth-method private_key_jwt/],
    [
      [...PRIVATE_KEY_JWT, '--jwks-uri', 'http://c.example/j'],
      /--jwks-uri must be an https URL \(http only on a loopback host\)/,
    ],
    [
      [...PRIVATE_KEY_JWT, '--jwks-uri', 'https://u:p@c.example/j'],
      /--jwks-uri must not hold credentials or a fragment/,
    ],
    [['--audience', 'api.example'], /--audience: 'api\.example' is not an absolute URI/],
    [['--audience', 'https://a.example/#x'], /without a fragment \(RFC 8707 §2\)/],
    [['--audience', 'urn:a urn:a'], /--audience: 'urn:a' is given twice/],
    [['--audience', ' '], /--audience needs at least one URI/],
    [
      ['--access-token-lifetime', '86401'],
      /^nest-oauth2: --access-token-lifetime must not exceed OAUTH2_MAX_ACCESS_TOKEN_LIFETIME \(86400 s\)\n$/,
    ],
    [['--access-token-lifetime', '25h'], /must not exceed OAUTH2_MAX_ACCESS_TOKEN_LIFETIME/],
  ])('create %j: exit 1, nothing stored', async (flags, message) => {
    const result = await cliWithStdin(piped('s'), 'client', 'create', '--id', 'x', ...flags);
    expectFailure(result, 1, message);
    expect(await rows()).toEqual([]);
  });

  test('OAUTH2_MAX_ACCESS_TOKEN_LIFETIME sets the bound', async () => {
    const env = { DATABASE_URL: databaseUrl, OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '172800' };
    const argv = ['client', 'create', '--id', 'x', '--access-token-lifetime', '2d'];
    expect((await runCapturing(argv, env, dir.path)).code).toBe(0);
    expect((await row('x'))!.access_token_lifetime).toBe(172800);
    expectFailure(
      await runCapturing(argv, { ...env, OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: 'lots' }, dir.path),
      1,
      /OAUTH2_MAX_ACCESS_TOKEN_LIFETIME must be a whole number of seconds, not 'lots'/,
    );
  });

  test.each([
    ['not json {', /^nest-oauth2: --jwks-file keys\.json is not valid JSON\n$/],
    [{ kty: 'RSA' }, /is not a JWK Set: a JSON object with a "keys" array/],
    [{ keys: [] }, /--jwks-file keys\.json holds no key/],
    [{ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, /key #1 holds private or symmetric key material/],
    [{ keys: [{ kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA' }] }, /fits none of the allowed/],
  ])('--jwks-file %j is refused', async (content, message) => {
    await jwksFile('keys.json', content);
    const result = await cli('client', 'create', '--id', 'pk', ...WITH_KEYS_FILE);
    expectFailure(result, 1, message);
    expect(await rows()).toEqual([]);
  });

  test('a private key in --jwks-file refuses the file, naming no key material', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    await jwksFile('keys.json', { keys: [await publicJwk(), jwk] });
    const result = await cli('client', 'create', '--id', 'pk', ...WITH_KEYS_FILE);
    expectFailure(
      result,
      1,
      /^nest-oauth2: --jwks-file keys\.json: key #2 holds private or symmetric key material: give the public keys only\n$/,
    );
    expect(result.stderr).not.toContain(jwk.d!);
    expectFailure(
      await cli(
        'client',
        'create',
        '--id',
        'pk',
        ...PRIVATE_KEY_JWT,
        '--jwks-file',
        'missing.json',
      ),
      1,
      /^nest-oauth2: cannot read --jwks-file missing\.json \(ENOENT\)\n$/,
    );
  });

  test('update changes only what is given; an empty value clears', async () => {
    expect(
      (
        await cli(
          'client',
          'create',
          '--id',
          'svc',
          '--scope',
          'a b',
          '--audience',
          'urn:x',
          '--user-id',
          'u-1',
        )
      ).code,
    ).toBe(0);
    const before = (await row('svc'))!;
    const updated = await cli(
      'client',
      'update',
      'svc',
      '--access-token-lifetime',
      '600',
      '--audience',
      '',
      '--json',
    );
    expect(jsonOf(updated)).toMatchObject({
      scope: 'a b',
      user_id: 'u-1',
      audience: null,
      access_token_lifetime: 600,
    });
    expect(await row('svc')).toEqual({
      ...before,
      audience: null,
      access_token_lifetime: 600,
    });
    const text = await cli('client', 'update', 'svc', '--scope', '', '--user-id', '');
    expect(text.stdout).toMatch(/^Updated client 'svc'\.\n/);
    expect(await row('svc')).toMatchObject({
      scope: null,
      user_id: null,
      client_secret: before.client_secret,
    });
    expectFailure(
      await cli('client', 'update', 'svc'),
      2,
      /'client update' needs at least one setting to change/,
    );
    expectFailure(await cli('client', 'update', 'nobody', '--scope', 'a'), 1, /no client with id/);
    expectFailure(
      await cli('client', 'update', 'svc', '--secret', 'x'),
      2,
      /unknown option '--secret'/,
    );
  });

  test('update --auth-method private_key_jwt removes the secrets; back to a secret method generates one', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expect((await cli('client', 'secret', 'add', 'svc')).code).toBe(0);
    await jwksFile('keys.json', { keys: [await publicJwk()] });
    const toKeys = await cli('client', 'update', 'svc', ...WITH_KEYS_FILE);
    expect(toKeys.code).toBe(0);
    expect(toKeys.stderr).toBe(
      "nest-oauth2: warning: private_key_jwt takes no secret: the client's 2 secret(s) were removed\n",
    );
    expect(await secretRows()).toEqual([]);
    expect((await row('svc'))!.client_secret).toBeNull();

    // Keys replace keys: a jwks_uri clears the inline set.
    const uri = await cli(
      'client',
      'update',
      'svc',
      '--jwks-uri',
      'https://c.example/jwks',
      '--json',
    );
    expect(JSON.parse(uri.stdout)).toMatchObject({
      jwks_uri: 'https://c.example/jwks',
      jwks_inline: false,
    });
    expectFailure(
      await cli('client', 'update', 'svc', '--jwks-uri', ''),
      1,
      /private_key_jwt needs the client's public keys/,
    );

    const back = await cli(
      'client',
      'update',
      'svc',
      '--auth-method',
      'client_secret_post',
      '--json',
    );
    expect(back.code).toBe(0);
    const body = JSON.parse(back.stdout);
    expect(body).toMatchObject({
      client_type: 'confidential',
      token_endpoint_auth_method: 'client_secret_post',
      jwks_uri: null,
      jwks_inline: false,
    });
    await expect(
      hasher.verify(body.client_secret, (await row('svc'))!.client_secret!),
    ).resolves.toBe(true);
    expectNoHash(back);
  });

  test('a user_id equal to another client id, or a client id that is a user_id: exit 1', async () => {
    expect((await cli('client', 'create', '--id', 'alice')).code).toBe(0);
    expectFailure(
      await cli('client', 'create', '--id', 'bob', '--user-id', 'alice'),
      1,
      /^nest-oauth2: client 'bob': user_id 'alice' is another client's id, so both clients' tokens would have the same sub\n$/,
    );
    expect((await rows()).map((r) => r.client_id)).toEqual(['alice']);
    expect((await cli('client', 'create', '--id', 'bob', '--user-id', 'carol')).code).toBe(0);
    expectFailure(
      await cli('client', 'create', '--id', 'carol'),
      1,
      /the id is the user_id of client 'bob'/,
    );
    expectFailure(
      await cli('client', 'update', 'bob', '--user-id', 'alice'),
      1,
      /user_id 'alice' is another client's id/,
    );
    expect((await row('bob'))!.user_id).toBe('carol');
  });

  test('disable and enable', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expect(await cli('client', 'disable', 'svc')).toEqual({
      code: 0,
      stdout: "Disabled client 'svc'.\n",
      stderr: '',
    });
    expect((await row('svc'))!.disabled).toBe(1);
    expect((await cli('client', 'list')).stdout).toMatch(/^svc .* disabled$/m);
    const json = await cli('client', 'enable', 'svc', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ client_id: 'svc', disabled: false });
    expect((await row('svc'))!.disabled).toBe(0);
    expectFailure(await cli('client', 'disable', 'nobody'), 1, /no client with id 'nobody'/);
    expectFailure(await cli('client', 'enable'), 2, /'client enable' needs a client id/);
  });
});

describe('client delete', () => {
  test('deletes the client; a second delete fails', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expect((await cli('client', 'create', '--id', 'keep')).code).toBe(0);
    const result = await cli('client', 'delete', 'svc');
    expect(result).toEqual({ code: 0, stdout: "Deleted client 'svc'.\n", stderr: '' });
    expect((await rows()).map((r) => r.client_id)).toEqual(['keep']);
    expectFailure(await cli('client', 'delete', 'svc'), 1, /no client with id 'svc'/);
    expectFailure(await cli('client', 'show', 'svc'), 1, /no client with id 'svc'/);
  });

  test('--json', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    const result = await cli('client', 'delete', 'svc', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ client_id: 'svc', deleted: true });
  });

  test('an id starting with a dash goes after --', async () => {
    expect((await cli('client', 'create', '--id=-odd')).code).toBe(0);
    expect((await cli('client', 'delete', '--', '-odd')).code).toBe(0);
    expect(await rows()).toEqual([]);
  });
});

describe('a running server sees CLI changes within its lookup cache ttl', () => {
  const POLL_EVERY_MS = 100;
  const POLL_FOR_MS = 5000;
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** The module on this test's database file, with a lookup cache of one second. */
  async function startServer(): Promise<INestApplication> {
    const forRoot = fixtures.find((fixture) => fixture.name === 'forRoot')!;
    return startApp(
      forRoot.metadata(
        testOptions({ clientCache: { ttl: 1 } }),
        {},
        databaseOptionsFromUrl(databaseUrl, dir.path),
      ),
    );
  }

  const statuses = async (clientId: string, secrets: Record<string, string>) => {
    const result: Record<string, number> = {};
    for (const [name, secret] of Object.entries(secrets)) {
      const res = await tokenRequest(app!)
        .set('Authorization', basicHeader(clientId, secret))
        .send(GRANT);
      result[name] = res.status;
    }
    return result;
  };

  /** Asks every 100 ms, for at most 5 s, until the answer is `expected`; the last answer. */
  async function poll<T>(ask: () => Promise<T>, expected: T): Promise<T> {
    const deadline = Date.now() + POLL_FOR_MS;
    for (;;) {
      const answer = await ask();
      if (isDeepStrictEqual(answer, expected) || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
    }
  }

  test('client rotate-secret: the old secret stops working and the new one works', async () => {
    // A chosen secret: its KDF success is also remembered, under the stored hash the rotation replaces.
    expect(
      (await cli('client', 'create', '--id', 'svc', '--secret', 'old-secret-of-twenty-chars')).code,
    ).toBe(0);
    app = await startServer();
    expect(await statuses('svc', { old: 'old-secret-of-twenty-chars' })).toEqual({ old: 200 });

    const rotated = await cli('client', 'rotate-secret', 'svc', '--json');
    expect(rotated.code).toBe(0);
    const secret: string = JSON.parse(rotated.stdout).secret;
    const expected = { old: 401, new: 200 };
    expect(
      await poll(
        () => statuses('svc', { old: 'old-secret-of-twenty-chars', new: secret }),
        expected,
      ),
    ).toEqual(expected);
  });

  test('client rotate-secret --keep-old-for: both secrets work; then revoke stops the old one', async () => {
    expect(
      (await cli('client', 'create', '--id', 'svc', '--secret', 'old-secret-of-twenty-chars')).code,
    ).toBe(0);
    // A second chosen secret, of the same salt, and a generated one besides.
    const chosen = await cliWithStdin(
      piped('other-secret-of-twenty-chars'),
      'client',
      'secret',
      'add',
      'svc',
      '--secret-stdin',
    );
    expect(chosen.code).toBe(0);
    app = await startServer();
    expect(
      await statuses('svc', {
        old: 'old-secret-of-twenty-chars',
        other: 'other-secret-of-twenty-chars',
      }),
    ).toEqual({
      old: 200,
      other: 200,
    });

    const rotated = await cli('client', 'rotate-secret', 'svc', '--keep-old-for', '1h', '--json');
    expect(rotated.code).toBe(0);
    const secret: string = JSON.parse(rotated.stdout).secret;
    const all = { old: 200, other: 200, new: 200 };
    const secrets = {
      old: 'old-secret-of-twenty-chars',
      other: 'other-secret-of-twenty-chars',
      new: secret,
    };
    expect(await poll(() => statuses('svc', secrets), all)).toEqual(all);

    expect((await cli('client', 'secret', 'revoke', 'svc', 'primary')).code).toBe(0);
    const revoked = { old: 401, other: 200, new: 200 };
    expect(await poll(() => statuses('svc', secrets), revoked)).toEqual(revoked);
  });

  test('client disable: refused; client enable: accepted again', async () => {
    const created = await cli('client', 'create', '--id', 'svc', '--json');
    const { client_secret: secret } = JSON.parse(created.stdout);
    app = await startServer();
    expect(await statuses('svc', { secret })).toEqual({ secret: 200 });
    expect((await cli('client', 'disable', 'svc')).code).toBe(0);
    expect(await poll(() => statuses('svc', { secret }), { secret: 401 })).toEqual({ secret: 401 });
    expect((await cli('client', 'enable', 'svc')).code).toBe(0);
    expect(await poll(() => statuses('svc', { secret }), { secret: 200 })).toEqual({ secret: 200 });
  });

  test('client delete: the deleted client is refused', async () => {
    const created = await cli('client', 'create', '--id', 'svc', '--json');
    const { client_secret: secret } = JSON.parse(created.stdout);
    app = await startServer();
    expect(await statuses('svc', { secret })).toEqual({ secret: 200 });

    expect((await cli('client', 'delete', 'svc')).code).toBe(0);
    expect(await poll(() => statuses('svc', { secret }), { secret: 401 })).toEqual({
      secret: 401,
    });
  });
});

describe('command line', () => {
  test.each([
    [['--help']],
    [['-h']],
    [['client', 'create', '--help']],
    [['client', 'bogus', '-h']],
  ])('%j prints the usage', async (argv) => {
    const result = await cli(...argv);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: nest-oauth2 <command> \[options\]/);
    for (const command of [
      'create',
      'update',
      'list',
      'show',
      'disable',
      'enable',
      'secret add',
      'secret list',
      'secret revoke',
      'rotate-secret',
      'delete',
    ]) {
      expect(result.stdout).toContain(`client ${command}`);
    }
    expect(result.stdout).toMatch(
      /^ {2}client secret add <id> \[--expires-in <duration>\] \[--secret <secret> \| --secret-stdin\]/m,
    );
    expect(result.stdout).toMatch(/\[--public \| --secret <secret> \| --secret-stdin\]/);
    expect(result.stdout).toMatch(/^ {2}client rotate-secret <id> \[--keep-old-for <duration>\]/m);
    expect(result.stdout.replace(/\n +/g, ' ')).toContain(
      'OAUTH2_ACCESS_TOKEN_LIFETIME or a longer client lifetime (each bounded by OAUTH2_MAX_ACCESS_TOKEN_LIFETIME)',
    );
    for (const command of ['list', 'generate', 'activate', 'retire', 'prune']) {
      expect(result.stdout).toContain(`keys ${command}`);
    }
    expect(result.stdout).toMatch(/client hash-legacy-secrets +Replace every plaintext secret/);
    expect(result.stdout).toMatch(
      /^ {2}migrate \[--show\] +Create or update the client and signing key tables/m,
    );
    expect(result.stdout).toMatch(/^ {4}--show +List the pending migrations/m);
    expect(result.stdout).toMatch(/--table <name> +The client table \(env OAUTH2_CLIENT_TABLE\)/);
    expect(result.stdout).toMatch(
      /^ {2}keys activate <kid> \[--force\] +Make a next key the active one/m,
    );
    expect(result.stdout.replace(/\n +/g, ' ')).toContain('(env OAUTH2_TABLE_PREFIX)');
    expect(result.stdout).toContain('--json');
  });

  test.each([
    [[], /missing command \(migrate, client, keys\)/],
    [['keys'], /missing 'keys' command \(list, generate, activate, retire, prune\)/],
    [['clients'], /unknown command 'clients'/],
    [
      ['client'],
      /missing 'client' command \(create, update, list, show, disable, enable, secret, rotate-secret, delete, revoke-tokens, hash-legacy-secrets\)/,
    ],
    [['client', 'secret'], /missing 'client secret' command \(add, list, revoke\)/],
    [['client', 'secret', 'drop', 'x'], /unknown command 'client secret drop'/],
    [
      ['client', 'secret', 'revoke', 'x'],
      /'client secret revoke' needs a secret id \(client secret list\)/,
    ],
    [['client', 'remove', 'x'], /unknown command 'client remove'/],
    [['client', 'list', '-x'], /unknown option '-x'/],
    [['client', 'list', '--json=false'], /'--json' takes no value/],
  ])('%j: exit 2', async (argv, message) => {
    expectFailure(await cli(...argv), 2, message);
  });
});

describe('database', () => {
  test('an unsupported DATABASE_URL: exit 1, one line, no password', async () => {
    const result = await runCapturing(
      ['client', 'list'],
      { DATABASE_URL: 'redis://admin:hunter2@cache/0' },
      dir.path,
    );
    expectFailure(result, 1, /DATABASE_URL scheme 'redis:' is not supported/);
    expect(result.stderr).not.toContain('hunter2');
  });

  test('a database that cannot be opened: exit 1, the password redacted', async () => {
    // No pg driver is installed here, and none would reach port 1: either way opening fails.
    const result = await runCapturing(
      ['client', 'list'],
      { DATABASE_URL: 'postgres://admin:hunter2@127.0.0.1:1/oauth' },
      dir.path,
    );
    expectFailure(
      result,
      1,
      /cannot open the database postgres:\/\/admin:\*\*\*@127\.0\.0\.1:1\/oauth: /,
    );
    expect(result.stderr).not.toContain('hunter2');
  });

  test('a ?schema= that is not a plain name: exit 1 before anything is opened', async () => {
    const result = await runCapturing(
      ['client', 'list'],
      {
        DATABASE_URL: 'postgres://admin:hunter2@127.0.0.1:1/oauth?schema=auth%22;DROP%20TABLE%20x',
      },
      dir.path,
    );
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'nest-oauth2: DATABASE_URL ?schema="auth\\";DROP TABLE x" is not a valid schema name: use ' +
        'letters, digits and _, at most 63 characters, not starting with a digit\n',
    });
  });

  test('a SQLite file others may read: a warning line, and its mode is left alone', async () => {
    const file = join(dir.path, `db-${counter}`, 'clients.sqlite');
    chmodSync(file, 0o644);
    expect(await cli('client', 'list')).toEqual({
      code: 0,
      stdout: 'No clients.\n',
      stderr:
        `nest-oauth2: warning: the SQLite database ${file} is readable by every user (mode 644): ` +
        `restrict it with \`chmod 600 ${file}\`\n`,
    });
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  test('without DATABASE_URL the clients go to ./data/oauth2.sqlite', async () => {
    const cwd = tempDir('oauth2-cli-default-');
    try {
      expect((await runCapturing(['migrate'], {}, cwd.path)).code).toBe(0);
      expect((await runCapturing(['client', 'create', '--id', 'd'], {}, cwd.path)).code).toBe(0);
      expect(existsSync(join(cwd.path, 'data', 'oauth2.sqlite'))).toBe(true);
      const listed = await runCapturing(
        ['client', 'list', '--json'],
        { DATABASE_URL: '' },
        cwd.path,
      );
      expect(JSON.parse(listed.stdout).map((c: { client_id: string }) => c.client_id)).toEqual([
        'd',
      ]);
    } finally {
      cwd.remove();
    }
  });

  describe('the DataSource is closed on every exit', () => {
    let destroy: ReturnType<typeof jest.spyOn>;
    beforeEach(() => {
      destroy = jest.spyOn(DataSource.prototype, 'destroy');
    });
    afterEach(() => destroy.mockRestore());

    test.each([
      [['client', 'list'], 0],
      [['client', 'show', 'nobody'], 1],
    ])('%j', async (argv, code) => {
      expect((await cli(...argv)).code).toBe(code);
      expect(destroy).toHaveBeenCalledTimes(1);
    });

    test('a usage error opens no database', async () => {
      expect((await cli('client', 'frob')).code).toBe(2);
      expect(destroy).not.toHaveBeenCalled();
    });
  });

  test('a repository can be given instead of DATABASE_URL', async () => {
    const repository = new InMemoryOAuthClientRepository([
      OAuthClient.create({
        clientId: 'mem',
        clientSecret: await hasher.hash('a chosen secret of 24 c'),
      }),
    ]);
    const result = await runCapturing(
      ['client', 'rotate-secret', 'mem'],
      { DATABASE_URL: 'redis://never-opened' },
      dir.path,
      { repository },
    );
    expect(result.code).toBe(0);
    const secret = SECRET_LINE.exec(result.stdout)![1];
    const [stored] = await repository.findSecrets('mem');
    await expect(hasher.verify(secret, stored.hash)).resolves.toBe(true);
    expect((await repository.findById('mem'))!.clientSecretExpiresAt).not.toBeNull();
  });
});

/** Runs raw SQL on this test's SQLite file (created 0600 as the CLI would), around the library's code. */
async function sql<T = unknown>(query: string, parameters: unknown[] = []): Promise<T> {
  const dataSource = new DataSource({
    ...databaseOptionsFromUrl(databaseUrl, dir.path),
    entities: [],
    migrations: [],
  });
  await dataSource.initialize();
  try {
    return await dataSource.query(query, parameters);
  } finally {
    await dataSource.destroy();
  }
}

describe('migrate', () => {
  beforeEach(() => {
    databaseUrl = freshDatabase();
  });

  test('applies the pending migrations once; then the database is up to date', async () => {
    expect(await cli('migrate')).toEqual({ code: 0, stdout: APPLIED, stderr: '' });
    expect(await cli('migrate')).toEqual({
      code: 0,
      stdout: 'The database is up to date.\n',
      stderr: '',
    });
    expect(await rows()).toEqual([]);
    expect(await sql('SELECT name FROM migrations ORDER BY id')).toEqual(
      MIGRATIONS.map((name) => ({ name })),
    );
  });

  test('--json', async () => {
    const first = await cli('migrate', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ applied: MIGRATIONS });
    expect(JSON.parse((await cli('migrate', '--json')).stdout)).toEqual({ applied: [] });
  });

  test('--show lists what is pending and applies nothing', async () => {
    expect(await cli('migrate', '--show')).toEqual({
      code: 0,
      stdout: `Pending (run \`nest-oauth2 migrate\`):\n  ${MIGRATIONS.join('\n  ')}\n`,
      stderr: '',
    });
    expect(JSON.parse((await cli('migrate', '--show', '--json')).stdout)).toEqual({
      pending: MIGRATIONS,
    });
    expect(await sql("SELECT name FROM sqlite_master WHERE type = 'table'")).toEqual([]);

    expect((await cli('migrate')).code).toBe(0);
    expect(await cli('migrate', '--show')).toEqual({
      code: 0,
      stdout: 'The database is up to date: no pending migrations.\n',
      stderr: '',
    });
    expect(JSON.parse((await cli('migrate', '--show', '--json')).stdout)).toEqual({ pending: [] });
  });

  test('client commands on a database that was never migrated: exit 1, told to migrate', async () => {
    for (const argv of [
      ['client', 'list'],
      ['client', 'create', '--id', 'svc'],
      ['client', 'hash-legacy-secrets'],
    ]) {
      const result = await cli(...argv);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `nest-oauth2: the database ${databaseUrl} has no table oauth_clients: run \`nest-oauth2 migrate\` first\n`,
      });
    }
    // Nothing was created on the way.
    expect(await sql("SELECT name FROM sqlite_master WHERE type = 'table'")).toEqual([]);
  });

  test('another table, by flags or by environment', async () => {
    const byFlags = await cli('migrate', '--table', 'clients', '--table-prefix', 'yii_');
    expect(byFlags).toEqual({
      code: 0,
      stdout:
        'Applied OAuth2CreateClientTable_yii_clients_1795564800000\n' +
        'Applied OAuth2ClientIdBinaryCollation_yii_clients_1795996800000\n' +
        'Applied OAuth2CreateSigningKeyTable_yii_oauth_signing_keys_1796601600000\n' +
        'Applied OAuth2ClientLifecycleColumns_yii_clients_1798502400000\n' +
        'Applied OAuth2CreateClientSecretTable_yii_oauth_client_secrets_1798588800000\n',
      stderr: '',
    });
    const env = {
      DATABASE_URL: databaseUrl,
      OAUTH2_CLIENT_TABLE: 'clients',
      OAUTH2_TABLE_PREFIX: 'yii_',
    };
    expect(await runCapturing(['migrate'], env, dir.path)).toEqual({
      code: 0,
      stdout: 'The database is up to date.\n',
      stderr: '',
    });
    const created = await runCapturing(
      ['client', 'create', '--id', 'svc', '--json'],
      env,
      dir.path,
    );
    expect(created.code).toBe(0);
    expect(await sql<Array<{ client_id: string }>>('SELECT client_id FROM yii_clients')).toEqual([
      { client_id: 'svc' },
    ]);
    // A flag wins over the environment.
    const listed = await runCapturing(
      ['client', 'list', '--table-prefix=', '--json'],
      env,
      dir.path,
    );
    expect(listed.stderr).toMatch(/has no table clients: run `nest-oauth2 migrate` first/);
    // The default table was never created.
    expectFailure(await cli('client', 'list'), 1, /has no table oauth_clients/);
  });

  test.each([
    [['migrate', '--table', 'bad-name'], 2, '"bad-name" is not a valid table name: use letters'],
    [['client', 'list', '--table-prefix', '1x_'], 2, '"1x_oauth_clients" is not a valid table'],
    [['client', 'list', '--table='], 2, '"" is not a valid table name'],
  ])('%j: a bad table name is refused before the database is opened', async (argv, code, text) => {
    const result = await cli(...argv);
    expectFailure(result, code, /letters, digits and _, at most 63 characters/);
    expect(result.stderr).toContain(text);
    expect(existsSync(join(dir.path, `db-${counter}`))).toBe(false);
  });

  test('a bad OAUTH2_CLIENT_TABLE: exit 1', async () => {
    const result = await runCapturing(
      ['client', 'list'],
      { DATABASE_URL: databaseUrl, OAUTH2_CLIENT_TABLE: 'clients; DROP TABLE x' },
      dir.path,
    );
    expectFailure(
      result,
      1,
      /"clients; DROP TABLE x" is not a valid table name: .* \(from OAUTH2_CLIENT_TABLE and OAUTH2_TABLE_PREFIX\)/,
    );
  });

  test('a table in the way that is not a client table: exit 1, one line, nothing recorded', async () => {
    await sql('CREATE TABLE oauth_clients (client_id VARCHAR(80) PRIMARY KEY)');
    expectFailure(
      await cli('migrate'),
      1,
      new RegExp(
        `^nest-oauth2: migration failed: ${MIGRATION}: table oauth_clients already exists without ` +
          'the column\\(s\\) client_secret, redirect_uri, grant_types, scope, user_id',
      ),
    );
    expect(JSON.parse((await cli('migrate', '--show', '--json')).stdout)).toEqual({
      pending: MIGRATIONS,
    });
  });

  test.each([
    [['migrate', 'now'], /unexpected argument 'now' for 'migrate'/],
    [['migrate', '--id', 'x'], /unknown option '--id' for 'migrate'/],
    [['migrate', '--show=yes'], /option '--show' takes no value/],
    [['client', 'list', '--show'], /unknown option '--show' for 'client list'/],
  ])('usage error %j: exit 2', async (argv, message) => {
    expectFailure(await cli(...argv), 2, message);
  });
});

describe('chosen secrets: at least OAUTH2_MIN_SECRET_LENGTH characters (default 20)', () => {
  const NINETEEN = 'nineteen characters';
  const TWENTY = 'twenty characters!!!';
  const refusal = (option: string, min: number) =>
    `nest-oauth2: ${option}: a chosen client secret needs at least ${min} characters ` +
    '(OAUTH2_MIN_SECRET_LENGTH); choose a longer one, or leave it out to have one generated\n';

  test('create: 19 characters are refused, naming the option and the minimum; 20 are taken', async () => {
    expect([...NINETEEN]).toHaveLength(19);
    expect([...TWENTY]).toHaveLength(20);
    expect(
      await cliWithStdin(piped(NINETEEN), 'client', 'create', '--id', 'svc', '--secret-stdin'),
    ).toEqual({ code: 1, stdout: '', stderr: refusal('--secret-stdin', 20) });
    expect(await cli('client', 'create', '--id', 'svc', '--secret', NINETEEN)).toEqual({
      code: 1,
      stdout: '',
      stderr: SECRET_WARNING + refusal('--secret', 20),
    });
    expect(await rows()).toEqual([]);

    const created = await cliWithStdin(
      piped(TWENTY),
      'client',
      'create',
      '--id',
      'svc',
      '--secret-stdin',
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    await expect(hasher.verify(TWENTY, (await row('svc'))!.client_secret!)).resolves.toBe(true);
  });

  test('secret add: a short chosen secret is refused and nothing is added', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expect(
      await cliWithStdin(piped(NINETEEN), 'client', 'secret', 'add', 'svc', '--secret-stdin'),
    ).toEqual({ code: 1, stdout: '', stderr: refusal('--secret-stdin', 20) });
    expect(await secretRows()).toEqual([]);
    // A generated secret is never short.
    expect((await cli('client', 'secret', 'add', 'svc')).code).toBe(0);
  });

  test('OAUTH2_MIN_SECRET_LENGTH sets the minimum, as minSecretLength does for the servers', async () => {
    const withMin = (min: string, secret: string, id: string) =>
      runCapturing(
        ['client', 'create', '--id', id, '--secret-stdin'],
        { DATABASE_URL: databaseUrl, OAUTH2_MIN_SECRET_LENGTH: min },
        dir.path,
        { stdin: piped(secret) },
      );
    expect((await withMin('8', 'testpass', 'eight')).code).toBe(0);
    await expect(hasher.verify('testpass', (await row('eight'))!.client_secret!)).resolves.toBe(
      true,
    );
    expect(await withMin('30', 'a secret of twenty-nine chars', 'thirty')).toEqual({
      code: 1,
      stdout: '',
      stderr: refusal('--secret-stdin', 30),
    });
    expect((await withMin('', TWENTY, 'default')).code).toBe(0);
    expect((await rows()).map((r) => r.client_id)).toEqual(['default', 'eight']);
  });

  test.each(['0', '-1', '1.5', 'abc', ' 20', '1e3', '99999999999999999999'])(
    'OAUTH2_MIN_SECRET_LENGTH=%j: exit 1, nothing stored',
    async (value) => {
      const result = await runCapturing(
        ['client', 'create', '--id', 'svc'],
        { DATABASE_URL: databaseUrl, OAUTH2_MIN_SECRET_LENGTH: value },
        dir.path,
      );
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `nest-oauth2: OAUTH2_MIN_SECRET_LENGTH must be a whole number of at least 1, not '${value}'\n`,
      });
      expect(await rows()).toEqual([]);
    },
  );
});

describe('a table hashed under a pepper, and a CLI without OAUTH2_SECRET_PEPPER', () => {
  const PEPPER = 'a pepper of at least thirty-two bytes, kept out of the database';
  const PEPPER_REFUSAL =
    /^nest-oauth2: the client table holds secrets hashed with a pepper: the servers use OAUTH2_SECRET_PEPPER, and the CLI needs the same OAUTH2_SECRET_PEPPER to write a secret \(nothing was written\)\n$/;
  const peppered = (argv: string[], stdin?: SecretInput) =>
    runCapturing(argv, { DATABASE_URL: databaseUrl, OAUTH2_SECRET_PEPPER: PEPPER }, dir.path, {
      stdin,
    });
  const WRITERS: string[][] = [
    ['client', 'create', '--id', 'other'],
    ['client', 'create', '--id', 'other', '--secret-stdin'],
    ['client', 'secret', 'add', 'svc'],
    ['client', 'secret', 'add', 'svc', '--secret-stdin'],
    ['client', 'rotate-secret', 'svc'],
    ['client', 'update', 'spa', '--auth-method', 'client_secret_basic'],
    ['client', 'hash-legacy-secrets'],
  ];

  async function expectEveryWriterRefused(): Promise<void> {
    const before = { clients: await rows(), secrets: await secretRows() };
    for (const argv of WRITERS) {
      const result = await cliWithStdin(piped('a chosen secret of 24 c'), ...argv);
      expectFailure(result, 1, PEPPER_REFUSAL);
    }
    expect({ clients: await rows(), secrets: await secretRows() }).toEqual(before);
    // Reading needs no pepper.
    for (const argv of [
      ['client', 'list'],
      ['client', 'show', 'svc'],
      ['client', 'secret', 'list', 'svc'],
    ]) {
      expect((await cli(...argv)).code).toBe(0);
    }
  }

  test('a peppered digest in client_secret: every command that writes a secret refuses', async () => {
    expect((await peppered(['client', 'create', '--id', 'svc'])).code).toBe(0);
    expect((await row('svc'))!.client_secret).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]{8}\$/);
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    await expectEveryWriterRefused();

    // With the servers' pepper, the same commands work.
    expect((await peppered(['client', 'secret', 'add', 'svc'])).code).toBe(0);
    expect((await peppered(['client', 'create', '--id', 'other'])).code).toBe(0);
  });

  test('a peppered scrypt hash in a secret row is enough to refuse', async () => {
    expect((await cli('client', 'create', '--id', 'svc')).code).toBe(0);
    expect((await cli('client', 'create', '--id', 'spa', '--public')).code).toBe(0);
    // Unpeppered digests only: writing without a pepper is fine.
    expect((await cli('client', 'secret', 'add', 'svc')).code).toBe(0);
    const added = await peppered(
      ['client', 'secret', 'add', 'svc', '--secret-stdin'],
      piped('a chosen secret of 24 c'),
    );
    expect(added.code).toBe(0);
    expect((await secretRows()).map((r) => r.secret_hash)).toEqual([
      expect.stringMatching(/^\$hmac-sha256\$k=0\$/),
      expect.stringMatching(/^\$scrypt\$k=[A-Za-z0-9_-]{4},ln=15,r=8,p=1\$/),
    ]);
    await expectEveryWriterRefused();
  });
});

describe('client hash-legacy-secrets', () => {
  /** Another scheme's hash (bcrypt, as PHP's password_hash writes it): never taken for plaintext. */
  const BCRYPT = '$2y$10$abcdefghijklmnopqrstuu5A8wNbEUJ2ZZ0bFqR7ynkhJ0uGoWvG2';
  const NOT_OURS_WARNING =
    "nest-oauth2: warning: 1 secret(s) are another scheme's hashes ($…$), not ours: left as they are; " +
    'those clients cannot authenticate here until given a new secret (client rotate-secret)\n';
  const SEED_DDL =
    'client_id VARCHAR(80) NOT NULL PRIMARY KEY, client_secret VARCHAR(80), redirect_uri VARCHAR(2000), ' +
    'grant_types VARCHAR(80), scope VARCHAR(4000), user_id VARCHAR(80)';

  async function legacyTable(
    table: string,
    clients: Array<[string, string | null]>,
    ddl = SEED_DDL,
  ): Promise<void> {
    databaseUrl = freshDatabase();
    await sql(`CREATE TABLE ${table} (${ddl})`);
    for (const [id, secret] of clients) {
      await sql(`INSERT INTO ${table} (client_id, client_secret) VALUES (?, ?)`, [id, secret]);
    }
  }

  const secrets = (table: string) =>
    sql<Array<{ client_id: string; client_secret: string | null }>>(
      `SELECT client_id, client_secret FROM ${table} ORDER BY client_id`,
    );

  test('hashes every plaintext secret in place and leaves hashes and public clients alone', async () => {
    const scrypt = await hasher.hash('a chosen secret of 24 c');
    const hmac = hasher.createSecret();
    await legacyTable('oauth_clients', [
      ['testclient', 'testpass'],
      ['other', 'some secure & non-standard secret'],
      ['public', null],
      ['hashed', scrypt],
      ['generated', hmac.hash],
      ['bcrypt', BCRYPT],
    ]);
    expect((await cli('migrate')).code).toBe(0);
    const result = await cli('client', 'hash-legacy-secrets');
    expect(result).toEqual({
      code: 0,
      stdout: 'Hashed 2 plaintext client secrets.\n',
      stderr: NOT_OURS_WARNING,
    });

    const after = Object.fromEntries(
      (await secrets('oauth_clients')).map((r) => [r.client_id, r.client_secret]),
    );
    expect(after).toEqual({
      bcrypt: BCRYPT,
      generated: hmac.hash,
      hashed: scrypt,
      other: expect.stringMatching(/^\$scrypt\$ln=15,r=8,p=1\$/),
      public: null,
      testclient: expect.stringMatching(/^\$scrypt\$ln=15,r=8,p=1\$/),
    });
    expect(after.testclient!.length).toBeLessThanOrEqual(80);
    await expect(hasher.verify('testpass', after.testclient!)).resolves.toBe(true);
    await expect(hasher.verify('testpas', after.testclient!)).resolves.toBe(false);
    await expect(hasher.verify('some secure & non-standard secret', after.other!)).resolves.toBe(
      true,
    );

    // A second pass finds nothing to do, and changes nothing.
    expect(await cli('client', 'hash-legacy-secrets')).toEqual({
      code: 0,
      stdout: 'Hashed 0 plaintext client secrets.\n',
      stderr: NOT_OURS_WARNING,
    });
    expect(
      Object.fromEntries(
        (await secrets('oauth_clients')).map((r) => [r.client_id, r.client_secret]),
      ),
    ).toEqual(after);
  });

  test('--json gives counts only; no secret or hash is ever printed', async () => {
    await legacyTable('oauth_clients', [['testclient', 'testpass']]);
    expect((await cli('migrate')).code).toBe(0);
    const result = await cli('client', 'hash-legacy-secrets', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      hashed: 1,
      skipped: 0,
      notOurs: 0,
      interrupted: false,
    });
    expect(result.stdout).not.toContain('testpass');
    expectNoHash(result);
  });

  test('a legacy table name, by flags: the migrations adopt and extend it, then its secrets are hashed', async () => {
    await legacyTable('yii_oauth_clients', [['testclient', 'testpass']]);
    const flags = ['--table-prefix', 'yii_', '--table', 'oauth_clients'];
    // Without the lifecycle columns, the client commands say what to do rather than fail on SQL.
    expectFailure(
      await cli('client', 'hash-legacy-secrets', ...flags),
      1,
      /^nest-oauth2: table yii_oauth_clients has no column client_secret_expires_at, .*disabled: run `nest-oauth2 migrate` first\n$/,
    );
    expect((await cli('migrate', ...flags)).code).toBe(0);
    const result = await cli('client', 'hash-legacy-secrets', ...flags);
    expect(result).toEqual({ code: 0, stdout: 'Hashed 1 plaintext client secret.\n', stderr: '' });
    const [stored] = await secrets('yii_oauth_clients');
    await expect(hasher.verify('testpass', stored.client_secret!)).resolves.toBe(true);
  });

  test("yii2's client_secret VARCHAR(32) on SQLite: no ALTER needed (the width is not enforced), a warning", async () => {
    await legacyTable(
      'oauth_clients',
      [['testclient', 'testpass']],
      'client_id VARCHAR(32) NOT NULL PRIMARY KEY, client_secret VARCHAR(32), ' +
        'redirect_uri VARCHAR(1000), grant_types VARCHAR(100), scope VARCHAR(1000), user_id INTEGER',
    );
    expect((await cli('migrate')).code).toBe(0);
    expect(await cli('client', 'hash-legacy-secrets')).toEqual({
      code: 0,
      stdout: 'Hashed 1 plaintext client secret.\n',
      stderr:
        'nest-oauth2: warning: oauth_clients.client_secret is declared VARCHAR(32), narrower than a ' +
        'hash (80); SQLite does not enforce it and stores each hash in full, but a copy of this schema ' +
        'elsewhere would not\n',
    });
    const [stored] = await secrets('oauth_clients');
    await expect(hasher.verify('testpass', stored.client_secret!)).resolves.toBe(true);
  });

  test('a few hundred plaintext rows: progress on a terminal only, interrupted after a batch, finished by a second run', async () => {
    const COUNT = 240;
    const plaintext = Array.from(
      { length: COUNT },
      (_, i) => [`client-${String(i).padStart(3, '0')}`, `legacy secret ${i}`] as [string, string],
    );
    await legacyTable('oauth_clients', [...plaintext, ['bcrypt', BCRYPT], ['public', null]]);
    expect((await cli('migrate')).code).toBe(0);
    const env = { DATABASE_URL: databaseUrl };

    // On a terminal: progress is drawn; the first drawing that counts a hashed secret interrupts the run.
    let interrupt: (() => void) | undefined;
    let released = false;
    const first = await runCapturing(['client', 'hash-legacy-secrets'], env, dir.path, undefined, {
      stderrIsTerminal: true,
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => (released = true);
      },
      onStderr: (text) => {
        if (/^\rHashing plaintext secrets: [1-9]/.test(text)) interrupt!();
      },
    });
    expect(released).toBe(true);
    const done = interruptedAfter(first, COUNT);
    const drawings = first.stderr.split('\x1b[K').filter((part) => part.startsWith('\rHashing'));
    expect(drawings[0]).toBe(`\rHashing plaintext secrets: 0/${COUNT} (0%)`);
    // Redrawn as secrets are hashed (at most every 100 ms): the last drawing counts no more than were done.
    const counts = drawings.map((text) => Number(/: (\d+)\//.exec(text)![1]));
    expect(counts.at(-1)).toBeGreaterThan(0);
    expect(counts.at(-1)).toBeLessThanOrEqual(done);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(drawings.at(-1)).toMatch(/ \(\d+%\), [\d.]+\/s, about \d+ s left$/);
    expect(first.stderr).toContain(
      'nest-oauth2: warning: interrupted: finishing the batch in progress (interrupt again to stop at once)\n',
    );
    // The line is cleared before the warnings that follow.
    expect(first.stderr.endsWith(`\r\x1b[K${NOT_OURS_WARNING}`)).toBe(true);
    expectNoHash(first);

    // The table is consistent: the first `done` clients (in id order) hashed, the rest untouched.
    const between = await secrets('oauth_clients');
    const hashedIds = between
      .filter((r) => r.client_secret?.startsWith('$scrypt$'))
      .map((r) => r.client_id);
    expect(hashedIds).toEqual(plaintext.slice(0, done).map(([id]) => id));
    expect(between.filter((r) => !hashedIds.includes(r.client_id))).toEqual(
      [...plaintext.slice(done), ['bcrypt', BCRYPT] as const, ['public', null] as const]
        .map(([client_id, client_secret]) => ({ client_id, client_secret }))
        .sort((a, b) => (a.client_id < b.client_id ? -1 : 1)),
    );

    // Not a terminal: no progress; the rest is hashed, and nothing twice.
    const second = await runCapturing(['client', 'hash-legacy-secrets'], env, dir.path);
    expect(second).toEqual({
      code: 0,
      stdout: `Hashed ${COUNT - done} plaintext client secrets.\n`,
      stderr: NOT_OURS_WARNING,
    });
    const after = Object.fromEntries(
      (await secrets('oauth_clients')).map((r) => [r.client_id, r.client_secret]),
    );
    for (const [id] of plaintext) {
      expect(after[id]).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    }
    // The hashes of the first run were kept, not redone.
    for (const id of hashedIds) {
      expect(after[id]).toBe(between.find((r) => r.client_id === id)!.client_secret);
    }
    for (const i of [0, done - 1, done, COUNT - 1]) {
      const [id, secret] = plaintext[i];
      await expect(hasher.verify(secret, after[id]!)).resolves.toBe(true);
    }
    expect(after.bcrypt).toBe(BCRYPT);

    // A third run, on a terminal with --json: nothing to do, and no progress drawn.
    const third = await runCapturing(
      ['client', 'hash-legacy-secrets', '--json'],
      env,
      dir.path,
      undefined,
      {
        stderrIsTerminal: true,
      },
    );
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout)).toEqual({
      hashed: 0,
      skipped: 0,
      notOurs: 1,
      interrupted: false,
    });
    expect(third.stderr).toBe(NOT_OURS_WARNING);
  }, 120_000);

  test('a secret that changed meanwhile is skipped, never overwritten, and reported', async () => {
    class RacingRepository extends InMemoryOAuthClientRepository {
      override async updateSecret(clientId: string, expected: string, next: string) {
        // The server upgraded this one between the read and the write.
        if (clientId === 'raced')
          await super.save(OAuthClient.create({ clientId, clientSecret: 'other' }));
        return super.updateSecret(clientId, expected, next);
      }
    }
    const repository = new RacingRepository([
      OAuthClient.create({ clientId: 'raced', clientSecret: 'a' }),
      OAuthClient.create({ clientId: 'plain', clientSecret: 'b' }),
    ]);
    const result = await runCapturing(['client', 'hash-legacy-secrets'], {}, dir.path, {
      repository,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Hashed 1 plaintext client secret.\n');
    expect(result.stderr).toBe(
      'nest-oauth2: warning: 1 secret(s) changed while this ran (a server upgrading them, say) and were left as they are; run the command again to check\n',
    );
    expect((await repository.findById('raced'))!.clientSecret).toBe('other');
    await expect(
      hasher.verify('b', (await repository.findById('plain'))!.clientSecret!),
    ).resolves.toBe(true);

    const json = await runCapturing(['client', 'hash-legacy-secrets', '--json'], {}, dir.path, {
      repository: new RacingRepository([
        OAuthClient.create({ clientId: 'raced', clientSecret: 'a' }),
      ]),
    });
    expect(JSON.parse(json.stdout)).toEqual({
      hashed: 0,
      skipped: 1,
      notOurs: 0,
      interrupted: false,
    });
  });

  test('usage error: it takes no argument', async () => {
    expectFailure(
      await cli('client', 'hash-legacy-secrets', 'testclient'),
      2,
      /unexpected argument 'testclient' for 'client hash-legacy-secrets'/,
    );
  });
});

describe('keys', () => {
  const KEK = 'c0'.repeat(32);
  const OTHER = 'd1'.repeat(32);
  /** The key commands with a key encryption key, against this test's database. */
  const keys = (env: Record<string, string>, ...argv: string[]): Promise<CliResult> =>
    runCapturing(
      ['keys', ...argv],
      { DATABASE_URL: databaseUrl, OAUTH2_KEY_ENCRYPTION_KEY: KEK, ...env },
      dir.path,
    );
  /** Short timings, so that a key may be activated a second after it was generated. */
  const QUICK = { OAUTH2_JWKS_MAX_AGE: '0', OAUTH2_KEY_REFRESH_INTERVAL: '1' };
  const keyRows = () =>
    sql<Array<Record<string, string | number | null>>>(
      'SELECT kid, alg, state, sealed_private_key, activated_at, retired_at FROM oauth_signing_keys ORDER BY created_at, kid',
    );
  const generated = async (env: Record<string, string> = {}, ...argv: string[]) => {
    const result = await keys(env, 'generate', ...argv, '--json');
    expect(result).toMatchObject({ code: 0 });
    return JSON.parse(result.stdout) as { kid: string; state: string; alg: string };
  };
  /** No key material, sealed or not, in anything the CLI writes. */
  const expectNoKeyMaterial = (result: CliResult) =>
    expect(result.stdout + result.stderr).not.toMatch(/PRIVATE KEY|\$aes-256-gcm\$|"d":/);

  test('every key command refuses to run without OAUTH2_KEY_ENCRYPTION_KEY, touching nothing', async () => {
    for (const argv of [['list'], ['generate'], ['activate', 'k'], ['retire', 'k'], ['prune']]) {
      expectFailure(
        await runCapturing(['keys', ...argv], { DATABASE_URL: databaseUrl }, dir.path),
        1,
        /^nest-oauth2: the key commands need OAUTH2_KEY_ENCRYPTION_KEY, the key encryption key the servers use/,
      );
    }
    expect(await keyRows()).toEqual([]);
  });

  test('a malformed key encryption key is refused without being echoed', async () => {
    const result = await keys({ OAUTH2_KEY_ENCRYPTION_KEY: 'too short a secret' }, 'list');
    expectFailure(
      result,
      1,
      /^nest-oauth2: OAUTH2_KEY_ENCRYPTION_KEY must be a random key of at least 32 bytes/,
    );
    expect(result.stderr).not.toContain('too short a secret');
  });

  test('on a database never migrated: told to migrate', async () => {
    databaseUrl = freshDatabase();
    expectFailure(
      await keys({}, 'list'),
      1,
      /has no table oauth_signing_keys: run `nest-oauth2 migrate` first/,
    );
  });

  test('generate: a sealed next key, its kid and state printed, never its material', async () => {
    const result = await keys(QUICK, 'generate');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [, alg, kid] = /^Generated (\w+) key ([\w-]{43}) \(next\)\.\n/.exec(result.stdout) ?? [];
    expect(alg).toBe('RS256');
    expect(result.stdout).toMatch(
      // A kid may start with '-': then it goes after `--`.
      new RegExp(`\nActivate it from \\S+Z: nest-oauth2 keys activate (-- )?${kid}\n$`),
    );
    expectNoKeyMaterial(result);
    const [row] = await keyRows();
    expect(row).toMatchObject({ kid, alg: 'RS256', state: 'next', activated_at: null });
    expect(row.sealed_private_key).toMatch(/^\$aes-256-gcm\$v=1,k=[\w-]{11}\$/);

    const json = await generated({}, '--alg', 'ES256');
    expect(json).toEqual({
      kid: expect.stringMatching(/^[\w-]{43}$/),
      alg: 'ES256',
      state: 'next',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.+Z$/),
      activatedAt: null,
      retiredAt: null,
    });
  });

  test('generate --activate: a first key at once; over an active key, it is retired with a warning', async () => {
    const first = await keys({}, 'generate', '--alg', 'ES256', '--activate');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^Generated ES256 key [\w-]{43} \(active\)\.\n$/);
    const firstKid = /key ([\w-]{43})/.exec(first.stdout)![1];

    const second = await keys({}, 'generate', '--alg', 'PS256', '--activate');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `Retired ${firstKid}: it verifies the tokens it signed until pruned.`,
    );
    expect(second.stderr).toMatch(
      /^nest-oauth2: warning: the new key signs from each server's next key refresh/,
    );
    expect((await keyRows()).map((row) => [row.alg, row.state])).toEqual([
      ['ES256', 'retired'],
      ['PS256', 'active'],
    ]);
  });

  test.each([['HS256'], ['ES384'], ['rs256']])('generate --alg %s: exit 2', async (alg) => {
    expectFailure(
      await keys({}, 'generate', '--alg', alg),
      2,
      /--alg must be one of RS256, PS256, ES256/,
    );
  });

  test('list: kid, alg, state and timestamps; --json the same as an array', async () => {
    expect(await keys({}, 'list')).toEqual({ code: 0, stdout: 'No signing keys.\n', stderr: '' });
    const active = await generated({}, '--alg', 'ES256', '--activate');
    const next = await generated();
    const text = await keys({}, 'list');
    expect(text.stdout.split('\n')[0]).toMatch(/^KID +ALG +STATE +CREATED +ACTIVATED +RETIRED$/);
    expect(text.stdout).toMatch(new RegExp(`${active.kid} +ES256 +active +\\S+Z +\\S+Z +-\n`));
    expect(text.stdout).toMatch(new RegExp(`${next.kid} +RS256 +next +\\S+Z +- +-\n`));
    expectNoKeyMaterial(text);
    const listed = JSON.parse((await keys({}, 'list', '--json')).stdout);
    expect(listed.map((key: Record<string, unknown>) => Object.keys(key))).toEqual([
      ['kid', 'alg', 'state', 'createdAt', 'activatedAt', 'retiredAt'],
      ['kid', 'alg', 'state', 'createdAt', 'activatedAt', 'retiredAt'],
    ]);
    expect(listed.map((key: { kid: string; state: string }) => [key.kid, key.state])).toEqual([
      [active.kid, 'active'],
      [next.kid, 'next'],
    ]);
  });

  test('activate: refused while the key may be unknown to resource servers, then done; --force skips the wait', async () => {
    const old = await generated({}, '--alg', 'ES256', '--activate');
    const next = await generated();
    const before = await keyRows();
    const refused = await keys({}, 'activate', '--', next.kid);
    expectFailure(
      refused,
      1,
      new RegExp(
        `^nest-oauth2: signing key "${next.kid}" has been published for \\d+s, less than the 360s .*` +
          'activate it from \\S+Z, or now with --force\n$',
      ),
    );
    expect(await keyRows()).toEqual(before);

    // OAUTH2_JWKS_MAX_AGE=0 + OAUTH2_KEY_REFRESH_INTERVAL=1: a second after it was generated.
    let activated: CliResult | undefined;
    const deadline = Date.now() + 5000;
    do {
      activated = await keys(QUICK, 'activate', '--', next.kid);
    } while (activated.code !== 0 && Date.now() < deadline);
    expect(activated).toEqual({
      code: 0,
      stdout:
        `Activated key ${next.kid}: every server signs with it within 1 s.\n` +
        `Retired ${old.kid}: it verifies the tokens it signed until pruned.\n`,
      stderr: '',
    });
    expect(await keys({}, 'activate', '--', next.kid)).toEqual({
      code: 0,
      stdout: `Key ${next.kid} is the active key already.\n`,
      stderr: '',
    });

    const forced = await generated();
    const json = await keys({}, 'activate', '--force', '--json', '--', forced.kid);
    expect(json.code).toBe(0);
    expect(
      JSON.parse(json.stdout).map((key: { kid: string; state: string }) => [key.kid, key.state]),
    ).toEqual([
      [next.kid, 'retired'],
      [forced.kid, 'active'],
    ]);
  });

  test('activate an unknown kid, or a retired key: exit 1', async () => {
    const retired = await generated({}, '--alg', 'ES256', '--activate');
    await generated({}, '--alg', 'ES256', '--activate');
    expectFailure(
      await keys({}, 'activate', 'nope', '--force'),
      1,
      /^nest-oauth2: no signing key has the kid "nope"\n$/,
    );
    // A kid starting with '-' goes after `--`, as for a client id.
    expectFailure(
      await keys({}, 'retire', '--', '-nope'),
      1,
      /^nest-oauth2: no signing key has the kid "-nope"\n$/,
    );
    expectFailure(
      await keys({}, 'activate', '--force', '--', retired.kid),
      1,
      /is retired and cannot become active again: generate a new key/,
    );
  });

  test('activate a key another key encryption key sealed: refused, naming the variable and the kid', async () => {
    await generated({}, '--alg', 'ES256', '--activate');
    const foreign = await generated({ OAUTH2_KEY_ENCRYPTION_KEY: OTHER });
    const before = await keyRows();
    expectFailure(
      await keys({}, 'activate', '--force', '--', foreign.kid),
      1,
      new RegExp(
        `^nest-oauth2: signing key "${foreign.kid}" was sealed with the key encryption key k=[\\w-]{11}, ` +
          'which is neither OAUTH2_KEY_ENCRYPTION_KEY \\(k=[\\w-]{11}\\) nor one of ' +
          'OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS\n$',
      ),
    );
    expect(await keyRows()).toEqual(before);
    // With the other key as a previous one it opens, and is activated.
    expect(
      (
        await keys(
          { OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS: `${'e2'.repeat(32)}, ${OTHER}` },
          'activate',
          '--force',
          '--',
          foreign.kid,
        )
      ).code,
    ).toBe(0);
  });

  test('retire: a next key; again is a no-op; the active key is refused', async () => {
    const active = await generated({}, '--alg', 'ES256', '--activate');
    const next = await generated({}, '--alg', 'ES256');
    expect(await keys({}, 'retire', '--', next.kid)).toEqual({
      code: 0,
      stdout: `Retired key ${next.kid}.\n`,
      stderr: '',
    });
    const again = await keys({}, 'retire', '--', next.kid);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(`^Key ${next.kid} was retired already \\(\\S+Z\\)\\.\n$`),
    );
    expect(JSON.parse((await keys({}, 'retire', '--json', '--', next.kid)).stdout)).toMatchObject({
      kid: next.kid,
      state: 'retired',
    });
    expectFailure(
      await keys({}, 'retire', '--', active.kid),
      1,
      new RegExp(`signing key "${active.kid}" is the active key: activate another key`),
    );
    expectFailure(await keys({}, 'retire'), 2, /'keys retire' needs a key id \(kid\)/);
  });

  test('prune: removes retired keys past the token lifetime plus the refresh interval, never others', async () => {
    const old = await generated({}, '--alg', 'ES256', '--activate');
    const current = await generated({}, '--alg', 'ES256', '--activate');
    const next = await generated();
    expect(await keys({}, 'prune')).toEqual({
      code: 0,
      stdout: 'No retired key was retired more than 3660 s ago: nothing to remove.\n',
      stderr: '',
    });
    // A lifetime of 1 s and a refresh interval of 1 s: the retired key goes two seconds after retirement.
    const env = { OAUTH2_ACCESS_TOKEN_LIFETIME: '1', OAUTH2_KEY_REFRESH_INTERVAL: '1' };
    let pruned: CliResult | undefined;
    const deadline = Date.now() + 6000;
    do {
      pruned = await keys(env, 'prune', '--json');
    } while (JSON.parse(pruned.stdout).length === 0 && Date.now() < deadline);
    expect(JSON.parse(pruned.stdout).map((key: { kid: string }) => key.kid)).toEqual([old.kid]);
    expect((await keyRows()).map((row) => [row.kid, row.state])).toEqual([
      [current.kid, 'active'],
      [next.kid, 'next'],
    ]);
    expect((await keys(env, 'prune')).stdout).toBe(
      'No retired key was retired more than 2 s ago: nothing to remove.\n',
    );
  });

  test('prune waits for the longest lifetime a token can have now: a client lifetime, bounded by the maximum', async () => {
    await generated({}, '--alg', 'ES256', '--activate');
    expect(
      (await cli('client', 'create', '--id', 'slow', '--access-token-lifetime', '2h')).code,
    ).toBe(0);
    expect(
      (await cli('client', 'create', '--id', 'fast', '--access-token-lifetime', '60')).code,
    ).toBe(0);
    expect((await keys({}, 'prune')).stdout).toBe(
      'No retired key was retired more than 7260 s ago: nothing to remove.\n',
    );
    // The token endpoint bounds a client's lifetime by the maximum, and so does prune.
    expect((await keys({ OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '5000' }, 'prune')).stdout).toBe(
      'No retired key was retired more than 5060 s ago: nothing to remove.\n',
    );
    expectFailure(
      await keys(
        { OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '1000', OAUTH2_ACCESS_TOKEN_LIFETIME: '2000' },
        'prune',
      ),
      1,
      /^nest-oauth2: OAUTH2_ACCESS_TOKEN_LIFETIME must not exceed OAUTH2_MAX_ACCESS_TOKEN_LIFETIME \(1000\)\n$/,
    );
  });

  test.each([
    [
      'OAUTH2_JWKS_MAX_AGE',
      'soon',
      "OAUTH2_JWKS_MAX_AGE must be a whole number of seconds, not 'soon'",
    ],
    [
      'OAUTH2_KEY_REFRESH_INTERVAL',
      '0',
      'OAUTH2_KEY_REFRESH_INTERVAL must be a whole number of seconds from 1',
    ],
    [
      'OAUTH2_ACCESS_TOKEN_LIFETIME',
      '-5',
      "OAUTH2_ACCESS_TOKEN_LIFETIME must be a whole number of seconds, not '-5'",
    ],
  ])('a bad %s: exit 1', async (name, value, message) => {
    expectFailure(
      await keys({ [name]: value }, 'prune'),
      1,
      new RegExp(`^nest-oauth2: ${message}`),
    );
  });
});

describe.each(databases)(
  'the client table on $name: peppered hashes, a client_secret too narrow for a hash',
  (database) => {
    let db: IsolatedDatabase;
    let setup: DataSource;
    beforeEach(async () => {
      db = await database.create({ shared: true });
      setup = new DataSource({ ...db.options, entities: [] });
      await setup.initialize();
    });
    afterEach(async () => {
      await setup.destroy();
      await db.drop();
    });

    const schema = () => (db.options as { schema?: string }).schema;
    const table = () =>
      ({
        postgres: `"${schema()}"."oauth_clients"`,
        mysql: '`oauth_clients`',
        sqlite: 'oauth_clients',
      })[database.name];
    const stored = () =>
      setup.query(`SELECT client_id, client_secret FROM ${table()}`) as Promise<
        Array<{ client_id: string; client_secret: string }>
      >;

    test('without the pepper, a table with peppered hashes is refused; with it, written', async () => {
      const env = { DATABASE_URL: db.url };
      const peppered = {
        ...env,
        OAUTH2_SECRET_PEPPER: 'a pepper of at least thirty-two bytes, kept apart',
      };
      expect((await runCapturing(['migrate'], env, dir.path)).code).toBe(0);
      expect((await runCapturing(['client', 'create', '--id', 'a'], env, dir.path)).code).toBe(0);
      // Unpeppered digests only: no pepper needed.
      expect((await runCapturing(['client', 'secret', 'add', 'a'], env, dir.path)).code).toBe(0);
      expect((await runCapturing(['client', 'secret', 'add', 'a'], peppered, dir.path)).code).toBe(
        0,
      );
      const refused = await runCapturing(['client', 'create', '--id', 'b'], env, dir.path);
      expect(refused).toEqual({
        code: 1,
        stdout: '',
        stderr: expect.stringMatching(
          /nest-oauth2: the client table holds secrets hashed with a pepper: the servers use OAUTH2_SECRET_PEPPER/,
        ),
      });
      expect((await runCapturing(['client', 'create', '--id', 'b'], peppered, dir.path)).code).toBe(
        0,
      );
    });

    test('PostgreSQL, MariaDB: refused before anything is written, with the exact ALTER TABLE to run; SQLite needs none', async () => {
      await setup.query(
        `CREATE TABLE ${table()} (client_id VARCHAR(80) NOT NULL PRIMARY KEY, ` +
          'client_secret VARCHAR(32), redirect_uri VARCHAR(2000), grant_types VARCHAR(80), ' +
          'scope VARCHAR(4000), user_id VARCHAR(80))',
      );
      await setup.query(
        `INSERT INTO ${table()} (client_id, client_secret) VALUES ('testclient', 'testpass')`,
      );
      const env = { DATABASE_URL: db.url };
      expect((await runCapturing(['migrate'], env, dir.path)).code).toBe(0);

      const widen = {
        postgres: [
          `ALTER TABLE "${schema()}"."oauth_clients" ALTER COLUMN "client_secret" TYPE VARCHAR(255);`,
        ],
        mysql: ['ALTER TABLE `oauth_clients` MODIFY `client_secret` VARCHAR(255) NULL;'],
        sqlite: [],
      }[database.name];
      const hashed = (count: number, stderr: unknown = '') => ({
        code: 0,
        stdout: `Hashed ${count} plaintext client secret${count === 1 ? '' : 's'}.\n`,
        stderr,
      });
      const sqliteWarning = expect.stringMatching(
        /^nest-oauth2: warning: oauth_clients\.client_secret is declared VARCHAR\(32\), narrower than a hash \(80\); SQLite does not enforce it and stores each hash in full/,
      );
      const refused = {
        code: 1,
        stdout: '',
        stderr:
          `nest-oauth2: ${schema() ? `${schema()}.` : ''}oauth_clients.client_secret holds at most 32 ` +
          `characters and a hash needs 80: widen it first (nothing was written): ${widen[0]}\n`,
      };
      const outcomes = {
        sqlite: {
          first: hashed(1, sqliteWarning),
          rows: [{ client_id: 'testclient', client_secret: expect.stringMatching(/^\$scrypt\$/) }],
          second: hashed(0, sqliteWarning),
        },
        server: {
          first: refused,
          rows: [{ client_id: 'testclient', client_secret: 'testpass' }],
          second: hashed(1),
        },
      }[database.name === 'sqlite' ? 'sqlite' : 'server'];

      expect(await runCapturing(['client', 'hash-legacy-secrets'], env, dir.path)).toEqual(
        outcomes.first,
      );
      expect(await stored()).toEqual(outcomes.rows);
      // The statement, run as printed, is all it takes.
      for (const statement of widen) await setup.query(statement);
      expect(await runCapturing(['client', 'hash-legacy-secrets'], env, dir.path)).toEqual(
        outcomes.second,
      );
      const [row] = await stored();
      await expect(hasher.verify('testpass', row.client_secret)).resolves.toBe(true);
    });
  },
);
