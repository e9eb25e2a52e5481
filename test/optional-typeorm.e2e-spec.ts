import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildFresh, repo } from './support/build.js';

/**
 * Issue 13: typeorm and @nestjs/typeorm are optional peers. The package, built as `npm run build` builds it,
 * runs in a folder outside the repository whose node_modules links every installed package but those two, so
 * resolving them really fails there (a folder inside the repository would find them in its node_modules).
 */

const LEFT_OUT = new Set(['typeorm', '@nestjs/typeorm']);

/**
 * The app a child process runs: `memory` starts one on InMemoryOAuthClientRepository and asks it for a token;
 * `typeorm` configures the TypeORM client storage and reports how start-up failed. The package is loaded with
 * require(), as a CommonJS app loads it (require(esm): no top-level await anywhere in it). Prints one JSON line.
 */
const APP = `
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const print = (result) => process.stdout.write(JSON.stringify(result) + '\\n');
const unresolved = [];
for (const name of ${JSON.stringify([...LEFT_OUT])}) {
  try {
    await import(name);
  } catch (error) {
    if (error.code === 'ERR_MODULE_NOT_FOUND') unresolved.push(name);
  }
}
const server = createRequire(import.meta.url)('./dist/index.js');
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const options = {
  issuer: 'https://auth.test.example',
  signing: { algorithm: 'ES256', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) },
};
const storage =
  process.argv[2] === 'memory'
    ? { clientRepository: { useValue: new server.InMemoryOAuthClientRepository() } }
    : {};
class AppModule {}
Module({ imports: [server.OAuth2Module.forRoot({ ...options, ...storage })] })(AppModule);

let app;
try {
  app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
} catch (error) {
  print({ unresolved, startFailed: { name: error.name, message: error.message } });
  process.exit(0);
}
const hasher = app.get(server.ClientSecretHasher);
await app.get(server.OAuthClientRepository).save(
  server.OAuthClient.create({
    clientId: 'testclient',
    clientSecret: await hasher.hash('testpass', { legacyImport: true }),
    scope: 'reports:read',
  }),
);
await app.listen(0, '127.0.0.1');
const response = await fetch(new URL('/oauth2/token', await app.getUrl()), {
  method: 'POST',
  headers: {
    authorization: 'Basic ' + Buffer.from('testclient:testpass').toString('base64'),
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: 'grant_type=client_credentials&scope=reports%3Aread',
});
print({ unresolved, status: response.status, body: await response.json() });
await app.close();
`;

let folder: string | undefined;

beforeAll(async () => {
  const build = await buildFresh('.tmp-optional-typeorm-');
  try {
    folder = mkdtempSync(join(tmpdir(), 'oauth2-without-typeorm-'));
    cpSync(build.outDir, join(folder, 'dist'), { recursive: true });
  } finally {
    build.remove();
  }
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  writeFileSync(join(folder, 'app.mjs'), APP);
  const installed = realpathSync(join(repo, 'node_modules'));
  const linked = join(folder, 'node_modules');
  mkdirSync(linked);
  for (const name of readdirSync(installed)) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@')
      ? readdirSync(join(installed, name)).map((inScope) => `${name}/${inScope}`)
      : [name];
    if (name.startsWith('@')) mkdirSync(join(linked, name));
    for (const each of names.filter((entry) => !LEFT_OUT.has(entry))) {
      symlinkSync(join(installed, each), join(linked, each));
    }
  }
}, 180_000);

afterAll(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function runApp(mode: 'memory' | 'typeorm'): Promise<Record<string, unknown>> {
  if (!folder) throw new Error('the package was not built');
  const { stdout } = await promisify(execFile)(process.execPath, ['app.mjs', mode], {
    cwd: folder,
    timeout: 60_000,
  });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

describe('without typeorm and @nestjs/typeorm installed', () => {
  test('the package loads, and an app on InMemoryOAuthClientRepository issues a token', async () => {
    const result = await runApp('memory');
    // Neither package resolves in the folder: the test means what it says.
    expect(result.unresolved).toEqual([...LEFT_OUT]);
    expect(result).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer', scope: 'reports:read', expires_in: 3600 },
    });
    expect((result.body as { access_token: string }).access_token).toMatch(/^ey/);
  }, 90_000);

  test('the TypeORM client storage fails start-up saying what to install, or what to give instead', async () => {
    const result = await runApp('typeorm');
    expect(result.unresolved).toEqual([...LEFT_OUT]);
    expect(result.startFailed).toEqual({
      name: 'OAuth2TypeOrmMissingError',
      message: expect.stringMatching(
        /^the TypeORM storage needs the package @nestjs\/typeorm, which is not installed: install typeorm and @nestjs\/typeorm .*or give OAuth2Module a `clientRepository`/,
      ),
    });
  }, 90_000);
});
