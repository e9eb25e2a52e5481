import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication, INestApplicationContext, Type } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OAuthClient } from '../src/index.js';
import { startApp } from './support/app.js';
import { repo } from './support/build.js';
import { CapturingLogger } from './support/logger.js';
import { basicHeader, expectInvalidClient, GRANT, tokenRequest } from './support/oauth.js';
import { codeBlocks, readmeSection } from './support/readme.js';

/**
 * The README's "Custom client storage" as a newcomer uses it: its code blocks, put together in one file as
 * written (only the package name points at src), compile with the repository's tsconfig, and the app they
 * make issues a token to a client registered as they show.
 */

/** What the README's code exports. */
interface ReadmeCode {
  AppModule: Type;
  ClientsDb: Type<{ rows: Map<string, OAuthClient> }>;
  registerClient(app: INestApplicationContext, clientId: string, scope: string): Promise<string>;
}

const folder = mkdtempSync(join(repo, 'test/.tmp-readme-storage-'));
const file = join(folder, 'custom-storage.ts');
const env = { ...process.env };

beforeAll(() => {
  const blocks = codeBlocks(readmeSection('### Custom client storage'), 'ts');
  const code = blocks
    .join('\n')
    .replaceAll("from '@nest-oauth2/server'", "from '../../src/index.js'");
  writeFileSync(file, code);
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({ extends: '../../tsconfig.json', include: [], files: ['custom-storage.ts'] }),
  );
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(folder, 'signing.pem');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  process.env.OAUTH2_SIGNING_KEY_FILE = keyFile;
  process.env.OAUTH2_ISSUER = 'https://auth.readme.example';
});

afterAll(() => {
  process.env = env;
  rmSync(folder, { recursive: true, force: true });
});

test('the code blocks compile as one file with the repository tsconfig', async () => {
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  // tsc prints its errors on stdout: shown by the failing assertion.
  const output = await promisify(execFile)(process.execPath, [tsc, '-p', folder], {
    cwd: repo,
  }).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  expect(output).toBe('');
}, 120_000);

describe('the app they make', () => {
  let app: INestApplication;
  let code: ReadmeCode;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    code = (await import(file)) as ReadmeCode;
    app = await startApp({ imports: [code.AppModule] }, { logger });
  });
  afterAll(() => app?.close());

  test('issues an RS256 RFC 9068 token to a client registered with registerClient', async () => {
    const secret = await code.registerClient(app, 'billing', 'reports:read');
    const stored = app.get(code.ClientsDb).rows.get('billing')!;
    expect(stored.clientSecret).toMatch(/^\$hmac-sha256\$/);
    expect(stored.clientSecret).not.toContain(secret);

    const res = await tokenRequest(app)
      .set('Authorization', basicHeader('billing', secret))
      .send(GRANT);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'reports:read' });
    const header = JSON.parse(
      Buffer.from(String(res.body.access_token).split('.')[0], 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    // The README's sample token (Quick start) is the start of such a token.
    const sample = /"access_token": "([\w-]+)…"/.exec(
      readmeSection('## Quick start: the example app'),
    );
    expect(res.body.access_token).toMatch(new RegExp(`^${sample![1]}`));

    const wrong = await tokenRequest(app)
      .set('Authorization', basicHeader('billing', `${secret}x`))
      .send(GRANT);
    expectInvalidClient(wrong);
  });

  test("a secret stored as plaintext or as another scheme's hash: 401, and one warning per client", async () => {
    const rows = app.get(code.ClientsDb).rows;
    const plaintext = 'a plaintext secret of mine';
    const bcrypt = `$2y$10$${'N9qo8uLOickgx2ZMRZoMye'}${'IjZAgcfl7p92ldGxad68LJZdL17lhWy'}`;
    for (const [clientId, clientSecret] of [
      ['plain', plaintext],
      ['bcrypt', bcrypt],
    ]) {
      rows.set(
        clientId,
        OAuthClient.create({ clientId, clientSecret, grantTypes: 'client_credentials' }),
      );
    }
    const from = logger.lines.length;
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const clientId of ['plain', 'bcrypt']) {
        expectInvalidClient(
          await tokenRequest(app)
            .set('Authorization', basicHeader(clientId, plaintext))
            .send(GRANT),
        );
      }
    }
    const warnings = logger.lines
      .slice(from)
      .filter((line) => line.fields?.event === 'oauth2.client_auth.secret_unreadable');
    expect(warnings.map((line) => [line.level, line.fields?.clientId])).toEqual([
      ['warn', 'plain'],
      ['warn', 'bcrypt'],
    ]);
    expect(warnings[0].message).toContain('ClientSecretHasher');
    expect(warnings[1].message).toContain('another scheme');
    for (const line of logger.everything(from)) {
      expect(line).not.toContain(plaintext);
      expect(line).not.toContain(bcrypt.slice(7));
    }
  });
});
