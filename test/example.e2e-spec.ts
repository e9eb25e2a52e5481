import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createExampleApp } from '../src/example/create-example-app.js';
import { ExampleConfigError } from '../src/example/example-config.js';
import { runCapturing, tempDir } from './support/cli.js';
import { startExample, type RunningExample } from './support/example.js';
import { decodeJwt, verifyWithPublicKey, verifyWithSecret } from './support/jwt.js';
import { pem as toPem } from './support/keys.js';
import { basicHeader, TEST_BASIC } from './support/oauth.js';

const DEMO_SCOPE = 'reports:read reports:write';
const SEEDED =
  /A new database: created the demo client testclient \(scope "reports:read reports:write", its secret in the README\)/;

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('oauth2-example-');
});
afterAll(() => dir.remove());

let folders = 0;
/** A fresh folder inside the test's temp dir. */
const folder = (): string => join(dir.path, `run-${++folders}`);

const running: RunningExample[] = [];
async function start(env: Record<string, string>, dataDir = folder()): Promise<RunningExample> {
  const example = await startExample(env, { cwd: dir.path, dataDir });
  running.push(example);
  return example;
}
async function stop(example: RunningExample): Promise<void> {
  running.splice(running.indexOf(example), 1);
  await example.app.close();
}
afterEach(async () => {
  for (const example of running.splice(0)) await example.app.close();
});

async function token(
  server: RunningExample['server'],
  form: Record<string, string> = {},
  auth: string | null = TEST_BASIC,
): Promise<request.Response> {
  const req = request(server).post('/oauth2/token').type('form');
  if (auth !== null) req.set('Authorization', auth);
  return req.send({ grant_type: 'client_credentials', ...form });
}

describe('the seed flow (sqlite::memory:)', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample(
      { DATABASE_URL: 'sqlite::memory:' },
      { cwd: dir.path, dataDir: folder() },
    );
  });
  afterAll(() => example.app.close());

  test('HTTP Basic → token → /api/whoami', async () => {
    const res = await token(example.server);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: DEMO_SCOPE,
    });
    const { header, payload } = decodeJwt(res.body.access_token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: 'http://localhost:0', client_id: 'testclient' });

    const who = await request(example.server)
      .get('/api/whoami')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect(who.status).toBe(200);
    expect(who.body).toEqual({ client_id: 'testclient', sub: 'testclient', scope: DEMO_SCOPE });
  });

  test('credentials in the body → token', async () => {
    const res = await token(
      example.server,
      { client_id: 'testclient', client_secret: 'testpass' },
      null,
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    const who = await request(example.server)
      .get('/api/whoami')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect(who.status).toBe(200);
    expect(who.body.client_id).toBe('testclient');
  });

  test('a wrong secret gets no token', async () => {
    const res = await token(example.server, {}, basicHeader('testclient', 'wrong'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('reports:read lists, reports:write creates', async () => {
    const access = (await token(example.server)).body.access_token as string;
    const created = await request(example.server)
      .post('/api/reports')
      .set('Authorization', `Bearer ${access}`)
      .send({ title: 'Q3 revenue' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(Number),
      title: 'Q3 revenue',
      created_by: 'testclient',
      created_at: expect.any(String),
    });
    const listed = await request(example.server)
      .get('/api/reports')
      .set('Authorization', `Bearer ${access}`);
    expect(listed.status).toBe(200);
    expect(listed.body.reports).toContainEqual(created.body);

    const invalid = await request(example.server)
      .post('/api/reports')
      .set('Authorization', `Bearer ${access}`)
      .send({ title: '' });
    expect(invalid.status).toBe(400);
  });

  test('a token narrowed to reports:read cannot write', async () => {
    const res = await token(example.server, { scope: 'reports:read' });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('reports:read');
    const auth = `Bearer ${res.body.access_token}`;
    expect(
      (await request(example.server).get('/api/reports').set('Authorization', auth)).status,
    ).toBe(200);
    const write = await request(example.server)
      .post('/api/reports')
      .set('Authorization', auth)
      .send({ title: 'x' });
    expect(write.status).toBe(403);
    expect(write.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });

  test('no token, or a forged one, is refused', async () => {
    const none = await request(example.server).get('/api/whoami');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    const access = (await token(example.server)).body.access_token as string;
    const [h, p] = access.split('.');
    const forged = await request(example.server)
      .get('/api/reports')
      .set('Authorization', `Bearer ${h}.${p}.AAAA`);
    expect(forged.status).toBe(401);
  });

  test('revocation at /oauth2/revoke and introspection at /oauth2/introspect, both in the metadata', async () => {
    const metadata = (await request(example.server).get('/.well-known/oauth-authorization-server'))
      .body;
    expect(metadata).toMatchObject({
      revocation_endpoint: 'http://localhost:0/oauth2/revoke',
      introspection_endpoint: 'http://localhost:0/oauth2/introspect',
    });
    const access = (await token(example.server)).body.access_token as string;
    const who = () =>
      request(example.server).get('/api/whoami').set('Authorization', `Bearer ${access}`);
    expect((await who()).status).toBe(200);
    // The demo client holds no `introspect` scope: introspection wants a client made for it.
    const introspect = await request(example.server)
      .post('/oauth2/introspect')
      .type('form')
      .set('Authorization', TEST_BASIC)
      .send({ token: access });
    expect(introspect.status).toBe(401);
    const revoke = await request(example.server)
      .post('/oauth2/revoke')
      .type('form')
      .set('Authorization', TEST_BASIC)
      .send({ token: access });
    expect(revoke.status).toBe(200);
    expect((await who()).status).toBe(401);
  });

  test('the demo client and the dev key are logged, never a hash', () => {
    const text = example.logger.text();
    expect(text).toMatch(SEEDED);
    expect(text).toMatch(/Generated a development key encryption key in .*for development only/);
    expect(text).toMatch(
      /The key store held no signing key: generated and activated the RS256 key /,
    );
    expect(text).not.toContain('$scrypt$');
    // The README names the demo secret; the logs never do.
    expect(text).not.toContain('testpass');
    // Every migration applied at this start is logged by name.
    expect(text).toMatch(
      /log \[ExampleMigrations\] Applied OAuth2CreateClientTable_oauth_clients_\d{13}/,
    );
  });
});

describe('the database key store', () => {
  const KEK = 'ab'.repeat(32);

  test('a first start makes a development key encryption key (0600) and a key; a restart reuses both', async () => {
    const dataDir = folder();
    const kekFile = join(dataDir, 'dev-key-encryption-key');
    const env = {
      DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}`,
      OAUTH2_SIGNING_ALGORITHM: 'ES256',
    };

    const first = await start(env, dataDir);
    expect(statSync(kekFile).mode & 0o777).toBe(0o600);
    const kek = readFileSync(kekFile, 'utf8');
    expect(kek).toMatch(/^[0-9a-f]{64}\n$/);
    const issued = (await token(first.server)).body.access_token as string;
    const { kid, alg } = decodeJwt(issued).header;
    expect(alg).toBe('ES256');
    expect(first.logger.text()).toMatch(
      /warn \[ExampleSigningKey\] Generated a development key encryption key in .*dev-key-encryption-key: for development only/,
    );
    expect(first.logger.text()).toContain(
      `warn [ExampleSigningKey] The key store held no signing key: generated and activated the ES256 key ${kid}`,
    );
    expect(first.logger.text()).not.toContain(kek.trim());
    await stop(first);

    const second = await start(env, dataDir);
    expect(readFileSync(kekFile, 'utf8')).toBe(kek);
    expect(second.logger.text()).toMatch(
      /warn \[ExampleSigningKey\] Using the development key encryption key/,
    );
    expect(second.logger.text()).not.toMatch(/generated and activated/);
    // A token of the first run is still good, and the same key signs.
    const who = await request(second.server)
      .get('/api/whoami')
      .set('Authorization', `Bearer ${issued}`);
    expect(who.status).toBe(200);
    expect(decodeJwt((await token(second.server)).body.access_token).header.kid).toBe(kid);
    // Its public key is published; the private key is stored sealed, never as PEM.
    const jwks = await request(second.server).get('/oauth2/jwks');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual([kid]);
    const [row] = await sqlite<Array<{ sealed_private_key: string }>>(
      join(dataDir, 'clients.sqlite'),
      'SELECT sealed_private_key FROM oauth_signing_keys',
    );
    expect(row.sealed_private_key).toMatch(/^\$aes-256-gcm\$v=1,k=/);
  });

  test('OAUTH2_KEY_ENCRYPTION_KEY: no development file; another key refuses to start, naming it and the kid, and writes nothing', async () => {
    const dataDir = folder();
    const database = join(dataDir, 'clients.sqlite');
    const env = { DATABASE_URL: `sqlite:${database}`, OAUTH2_KEY_ENCRYPTION_KEY: KEK };
    const first = await start(env, dataDir);
    const kid = decodeJwt((await token(first.server)).body.access_token).header.kid;
    expect(existsSync(join(dataDir, 'dev-key-encryption-key'))).toBe(false);
    expect(first.logger.text()).not.toMatch(/development/);
    await stop(first);
    const rows = () => sqlite(database, 'SELECT * FROM oauth_signing_keys ORDER BY kid');
    const before = await rows();

    // Another key, or none (then the development key is made, and is another key too).
    for (const kek of ['cd'.repeat(32), '']) {
      const app = await createExampleApp(
        { ...env, PORT: '0', OAUTH2_KEY_ENCRYPTION_KEY: kek },
        { cwd: dir.path, dataDir, logger: false },
      );
      await expect(app.init()).rejects.toThrow(
        new RegExp(
          `^OAuth2Module: cannot load the signing keys from the key store: signing key "${kid}" was ` +
            'sealed with the key encryption key k=[\\w-]{11}, which is neither ' +
            `(OAUTH2_KEY_ENCRYPTION_KEY|the development key encryption key in .*) \\(k=[\\w-]{11}\\) ` +
            'nor one of OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS$',
        ),
      );
      await app.close();
      expect(await rows()).toEqual(before);
    }

    // The former key as a previous one: the start succeeds, and tokens of the first key still verify.
    const rotated = await start(
      {
        ...env,
        OAUTH2_KEY_ENCRYPTION_KEY: 'cd'.repeat(32),
        OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS: KEK,
      },
      dataDir,
    );
    expect(decodeJwt((await token(rotated.server)).body.access_token).header.kid).toBe(kid);
  });

  test('the CLI rotates the keys of a running app: it follows within OAUTH2_KEY_REFRESH_INTERVAL', async () => {
    const dataDir = folder();
    const env = {
      DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}`,
      OAUTH2_KEY_ENCRYPTION_KEY: KEK,
      OAUTH2_KEY_REFRESH_INTERVAL: '1',
      OAUTH2_JWKS_MAX_AGE: '0',
    };
    const example = await start(env, dataDir);
    const oldToken = (await token(example.server)).body.access_token as string;
    const generated = await runCapturing(
      ['keys', 'generate', '--alg', 'PS256', '--json'],
      env,
      dir.path,
    );
    const { kid } = JSON.parse(generated.stdout);
    expect(
      (await runCapturing(['keys', 'activate', '--force', '--', kid], env, dir.path)).code,
    ).toBe(0);
    const deadline = Date.now() + 5000;
    let header = decodeJwt((await token(example.server)).body.access_token).header;
    while (header.kid !== kid && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      header = decodeJwt((await token(example.server)).body.access_token).header;
    }
    expect(header).toMatchObject({ kid, alg: 'PS256' });
    const jwks = await request(example.server).get('/oauth2/jwks');
    expect(jwks.headers['cache-control']).toBe('public, max-age=0');
    expect(jwks.body.keys).toHaveLength(2);
    const who = await request(example.server)
      .get('/api/whoami')
      .set('Authorization', `Bearer ${oldToken}`);
    expect(who.status).toBe(200);
  });

  test('is not used when OAUTH2_SIGNING_KEY is set: a static key, no key encryption key', async () => {
    const dataDir = folder();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const database = join(dataDir, 'clients.sqlite');
    const example = await start(
      {
        DATABASE_URL: `sqlite:${database}`,
        OAUTH2_SIGNING_ALGORITHM: 'ES256',
        OAUTH2_SIGNING_KEY: toPem(privateKey),
        OAUTH2_KEY_REFRESH_INTERVAL: '5',
      },
      dataDir,
    );
    expect(existsSync(join(dataDir, 'dev-key-encryption-key'))).toBe(false);
    expect(example.logger.text()).not.toMatch(/development|key store/);
    const res = await token(example.server);
    expect(verifyWithPublicKey(res.body.access_token, publicKey)).toMatchObject({
      client_id: 'testclient',
    });
    expect(await sqlite(database, 'SELECT * FROM oauth_signing_keys')).toEqual([]);
  });

  test('is not used when OAUTH2_SIGNING_KEY_FILE is set', async () => {
    const dataDir = folder();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const keyFile = join(dir.path, `es384-${folders}.pem`);
    writeFileSync(keyFile, toPem(privateKey));
    const example = await start(
      {
        DATABASE_URL: 'sqlite::memory:',
        OAUTH2_SIGNING_ALGORITHM: 'ES384',
        OAUTH2_SIGNING_KEY_FILE: keyFile,
      },
      dataDir,
    );
    expect(existsSync(join(dataDir, 'dev-key-encryption-key'))).toBe(false);
    const res = await token(example.server);
    expect(decodeJwt(res.body.access_token).header.alg).toBe('ES384');
    expect(verifyWithPublicKey(res.body.access_token, publicKey, 'ES384')).toMatchObject({
      client_id: 'testclient',
    });
  });

  test('HS256 signs with OAUTH2_HMAC_SECRET', async () => {
    const secret = 'an-hmac-secret-of-at-least-32-bytes!';
    const dataDir = folder();
    const example = await start(
      {
        DATABASE_URL: 'sqlite::memory:',
        OAUTH2_SIGNING_ALGORITHM: 'HS256',
        OAUTH2_HMAC_SECRET: secret,
      },
      dataDir,
    );
    expect(existsSync(join(dataDir, 'dev-key-encryption-key'))).toBe(false);
    const res = await token(example.server);
    expect(decodeJwt(res.body.access_token).header.alg).toBe('HS256');
    expect(verifyWithSecret(res.body.access_token, secret)).toMatchObject({
      client_id: 'testclient',
    });
  });
});

describe('the demo client', () => {
  test('is created on an empty table only, once', async () => {
    const dataDir = folder();
    const env = { DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}` };
    const first = await start(env, dataDir);
    expect(first.logger.text()).toMatch(SEEDED);
    await stop(first);

    const second = await start(env, dataDir);
    expect(second.logger.text()).not.toMatch(/demo client/);
    expect((await token(second.server)).status).toBe(200);
    await stop(second);

    const listed = await runCapturing(['client', 'list', '--json'], env, dir.path);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ client_id: 'testclient', scope: DEMO_SCOPE }),
    ]);
  });

  test('is created only when this start created the database: an emptied table stays empty', async () => {
    const dataDir = folder();
    const env = { DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}` };
    await stop(await start(env, dataDir));
    expect((await runCapturing(['client', 'delete', 'testclient'], env, dir.path)).code).toBe(0);
    const again = await start(env, dataDir);
    expect(again.logger.text()).not.toMatch(/demo client/);
    expect((await token(again.server)).status).toBe(401);
    await stop(again);
  });

  test('is not created next to a client made with the CLI', async () => {
    const dataDir = folder();
    const env = { DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}` };
    expect((await runCapturing(['migrate'], env, dir.path)).code).toBe(0);
    const created = await runCapturing(
      [
        'client',
        'create',
        '--id',
        'own',
        '--secret',
        'own-secret, twenty characters or more',
        '--scope',
        'reports:read',
        '--json',
      ],
      env,
      dir.path,
    );
    expect(created.code).toBe(0);

    const example = await start(env, dataDir);
    expect(example.logger.text()).not.toMatch(/demo client/);
    const demo = await token(example.server);
    expect(demo.status).toBe(401);
    const own = await token(
      example.server,
      {},
      basicHeader('own', 'own-secret, twenty characters or more'),
    );
    expect(own.status).toBe(200);
    expect(own.body.scope).toBe('reports:read');
  });
});

describe('settings from the environment', () => {
  test('issuer, lifetime and no credentials in the body', async () => {
    const example = await start({
      DATABASE_URL: 'sqlite::memory:',
      OAUTH2_ISSUER: 'https://auth.example.test',
      OAUTH2_ACCESS_TOKEN_LIFETIME: '60',
      OAUTH2_ALLOW_CREDENTIALS_IN_BODY: 'false',
    });
    const res = await token(example.server);
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(60);
    const { payload } = decodeJwt(res.body.access_token);
    expect(payload).toMatchObject({
      iss: 'https://auth.example.test',
      aud: 'https://auth.example.test',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);

    const jwks = await request(example.server).get('/oauth2/jwks');
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');

    const body = await token(
      example.server,
      { client_id: 'testclient', client_secret: 'testpass' },
      null,
    );
    expect(body.status).toBe(401);
    expect(body.body.error).toBe('invalid_client');
  });

  test('OAUTH2_AUDIENCE (a space-separated list) and OAUTH2_JWKS_MAX_AGE', async () => {
    const example = await start({
      DATABASE_URL: 'sqlite::memory:',
      OAUTH2_AUDIENCE: 'https://api.example.test https://reports.example.test',
      OAUTH2_JWKS_MAX_AGE: '60',
    });
    const res = await token(example.server);
    expect(decodeJwt(res.body.access_token).payload.aud).toEqual([
      'https://api.example.test',
      'https://reports.example.test',
    ]);
    const who = await request(example.server)
      .get('/api/whoami')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect(who.status).toBe(200);
    const jwks = await request(example.server).get('/oauth2/jwks');
    expect(jwks.headers['cache-control']).toBe('public, max-age=60');
  });

  test.each([
    [{ PORT: 'http' }, /^PORT must be a whole number/],
    [
      { OAUTH2_ALLOW_PUBLIC_CLIENTS: 'maybe' },
      /^OAUTH2_ALLOW_PUBLIC_CLIENTS must be true or false/,
    ],
    [
      { OAUTH2_ACCESS_TOKEN_LIFETIME: '-5' },
      /^OAUTH2_ACCESS_TOKEN_LIFETIME must be a whole number/,
    ],
    [
      { DATABASE_URL: 'mongodb://u:hunter2@db/x' },
      /^DATABASE_URL scheme 'mongodb:' is not supported/,
    ],
  ])('%j stops the start with a clear error', async (env, message) => {
    const dataDir = folder();
    const started = createExampleApp(env, { cwd: dir.path, dataDir, logger: false });
    await expect(started).rejects.toThrow(message);
    await expect(started).rejects.toMatchObject({
      message: expect.not.stringContaining('hunter2'),
    });
    expect(existsSync(dataDir)).toBe(false);
  });

  test('the config error is an ExampleConfigError', async () => {
    await expect(
      createExampleApp({ OAUTH2_ALLOW_CREDENTIALS_IN_BODY: 'nope' }, { logger: false }),
    ).rejects.toBeInstanceOf(ExampleConfigError);
  });

  test('an unreadable OAUTH2_SIGNING_KEY stops the start', async () => {
    await expect(
      createExampleApp(
        { DATABASE_URL: 'sqlite::memory:', OAUTH2_SIGNING_KEY: 'not a key' },
        { cwd: dir.path, dataDir: folder(), logger: false },
      ),
    ).rejects.toThrow(/signing key could not be read/);
  });
});

/** Raw SQL on a SQLite file, around the app's own code. */
async function sqlite<T = unknown>(file: string, query: string, parameters: unknown[] = []) {
  const dataSource = new DataSource({ type: 'better-sqlite3', database: file });
  await dataSource.initialize();
  try {
    return (await dataSource.query(query, parameters)) as T;
  } finally {
    await dataSource.destroy();
  }
}

const MIGRATIONS = [
  { name: 'OAuth2CreateClientTable_oauth_clients_1795564800000' },
  { name: 'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000' },
  { name: 'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000' },
  { name: 'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000' },
  { name: 'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000' },
];

describe('HTTP_PLATFORM=fastify', () => {
  test('the seed flow on Fastify: Basic → token → /api/whoami and /api/reports', async () => {
    const example = await start({ DATABASE_URL: 'sqlite::memory:', HTTP_PLATFORM: 'fastify' });
    expect(example.app.getHttpAdapter().getType()).toBe('fastify');
    const res = await token(example.server);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: DEMO_SCOPE,
    });
    const auth = `Bearer ${res.body.access_token}`;
    const who = await request(example.server).get('/api/whoami').set('Authorization', auth);
    expect(who.status).toBe(200);
    expect(who.body).toEqual({ client_id: 'testclient', sub: 'testclient', scope: DEMO_SCOPE });
    const created = await request(example.server)
      .post('/api/reports')
      .set('Authorization', auth)
      .send({ title: 'on fastify' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'on fastify', created_by: 'testclient' });

    const wrong = await token(example.server, {}, basicHeader('testclient', 'wrong'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="Service"');
  });

  test('Express is the default', async () => {
    const example = await start({ DATABASE_URL: 'sqlite::memory:' });
    expect(example.app.getHttpAdapter().getType()).toBe('express');
  });
});

describe('the schema comes from the migrations', () => {
  test('applied at the first start, not again at the next; the CLI needs no migrate after', async () => {
    const dataDir = folder();
    const file = join(dataDir, 'clients.sqlite');
    const env = { DATABASE_URL: `sqlite:${file}` };
    await stop(await start(env, dataDir));
    const applied = await sqlite<Array<{ name: string }>>(
      file,
      'SELECT name FROM migrations ORDER BY id',
    );
    expect(applied).toEqual(MIGRATIONS);

    await stop(await start(env, dataDir));
    expect(await sqlite(file, 'SELECT name FROM migrations ORDER BY id')).toEqual(MIGRATIONS);
    expect(await runCapturing(['migrate', '--show'], env, dir.path)).toEqual({
      code: 0,
      stdout: 'The database is up to date: no pending migrations.\n',
      stderr: '',
    });
    const listed = await runCapturing(['client', 'list', '--json'], env, dir.path);
    expect(JSON.parse(listed.stdout).map((c: { client_id: string }) => c.client_id)).toEqual([
      'testclient',
    ]);
  });

  test('OAUTH2_CLIENT_TABLE and OAUTH2_TABLE_PREFIX name the table', async () => {
    const dataDir = folder();
    const file = join(dataDir, 'clients.sqlite');
    const env = {
      DATABASE_URL: `sqlite:${file}`,
      OAUTH2_CLIENT_TABLE: 'clients',
      OAUTH2_TABLE_PREFIX: 'app_',
    };
    const example = await start(env, dataDir);
    expect((await token(example.server)).status).toBe(200);
    const tables = await sqlite<Array<{ name: string }>>(
      file,
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    expect(tables.map((t) => t.name)).toEqual([
      'app_clients',
      'app_oauth_client_secrets',
      'app_oauth_signing_keys',
      'migrations',
    ]);
    expect(await sqlite(file, 'SELECT client_id FROM app_clients')).toEqual([
      { client_id: 'testclient' },
    ]);
    // The CLI reads the same variables.
    const listed = await runCapturing(['client', 'list', '--json'], env, dir.path);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ client_id: 'testclient', scope: DEMO_SCOPE }),
    ]);
  });
});

describe('a legacy seed table (OAUTH2_LEGACY_PLAINTEXT_SECRETS)', () => {
  const SEED_DDL =
    'client_id VARCHAR(80) NOT NULL PRIMARY KEY, client_secret VARCHAR(80), redirect_uri VARCHAR(2000), ' +
    'grant_types VARCHAR(80), scope VARCHAR(4000), user_id VARCHAR(80)';

  async function legacyDatabase(): Promise<{ dataDir: string; file: string }> {
    const dataDir = folder();
    const file = join(dataDir, 'legacy.sqlite');
    mkdirSync(dataDir, { recursive: true });
    // Kept as a server's database file should be (the app warns about a world-readable one).
    writeFileSync(file, '', { mode: 0o600 });
    await sqlite(file, `CREATE TABLE yii_oauth_clients (${SEED_DDL})`);
    await sqlite(
      file,
      "INSERT INTO yii_oauth_clients (client_id, client_secret, grant_types, scope) VALUES ('testclient', 'testpass', NULL, 'reports:read')",
    );
    return { dataDir, file };
  }
  const stored = async (file: string) =>
    (
      await sqlite<Array<{ client_secret: string }>>(
        file,
        "SELECT client_secret FROM yii_oauth_clients WHERE client_id = 'testclient'",
      )
    )[0].client_secret;

  test('on: the plaintext secret works once and is stored hashed; the table is adopted', async () => {
    const { dataDir, file } = await legacyDatabase();
    const example = await start(
      {
        DATABASE_URL: `sqlite:${file}`,
        OAUTH2_TABLE_PREFIX: 'yii_',
        OAUTH2_LEGACY_PLAINTEXT_SECRETS: 'true',
        HTTP_PLATFORM: 'fastify',
      },
      dataDir,
    );
    // The table held a client: no demo client was added.
    expect(example.logger.text()).not.toMatch(/demo client/);
    const first = await token(example.server);
    expect(first.status).toBe(200);
    expect(first.body.scope).toBe('reports:read');
    const hash = await stored(file);
    expect(hash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(hash.length).toBeLessThanOrEqual(80);
    expect((await token(example.server)).status).toBe(200);
    expect(example.logger.text()).toContain(
      'Client "testclient": plaintext secret replaced by a hash',
    );
    expect(example.logger.text()).not.toContain(hash);
  });

  test('off (the default): a plaintext row gets 401 invalid_client and stays as it is', async () => {
    const { dataDir, file } = await legacyDatabase();
    const example = await start(
      { DATABASE_URL: `sqlite:${file}`, OAUTH2_TABLE_PREFIX: 'yii_' },
      dataDir,
    );
    const res = await token(example.server);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(await stored(file)).toBe('testpass');
  });
});

describe('OAUTH2_SECRET_PEPPER', () => {
  test('a secret the CLI generated with the pepper works only where the app has it', async () => {
    const pepper = 'a pepper of at least thirty-two bytes!';
    const dataDir = folder();
    const env = { DATABASE_URL: `sqlite:${join(dataDir, 'clients.sqlite')}` };
    expect((await runCapturing(['migrate'], env, dir.path)).code).toBe(0);
    const created = await runCapturing(
      ['client', 'create', '--id', 'svc', '--json'],
      { ...env, OAUTH2_SECRET_PEPPER: pepper },
      dir.path,
    );
    expect(created.code).toBe(0);
    const secret = JSON.parse(created.stdout).client_secret as string;

    const peppered = await start({ ...env, OAUTH2_SECRET_PEPPER: pepper }, dataDir);
    expect((await token(peppered.server, {}, basicHeader('svc', secret))).status).toBe(200);
    await stop(peppered);

    const without = await start(env, dataDir);
    const refused = await token(without.server, {}, basicHeader('svc', secret));
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  test('a short pepper stops the start', async () => {
    await expect(
      createExampleApp(
        { DATABASE_URL: 'sqlite::memory:', OAUTH2_SECRET_PEPPER: 'short' },
        { cwd: dir.path, dataDir: folder(), logger: false },
      ),
    ).rejects.toThrow('OAUTH2_SECRET_PEPPER needs at least 32 bytes');
  });
});
