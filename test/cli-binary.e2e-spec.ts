import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CLI } from '../src/cli/commands.js';
import { usageText } from '../src/cli/usage.js';
import { ClientSecretHasher } from '../src/index.js';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl } from '../src/cli/database-url.js';
import { buildFresh, repo, type FreshBuild } from './support/build.js';
import {
  interruptedAfter,
  readClientRows,
  splitAudit,
  tempDir,
  type CliResult,
} from './support/cli.js';

/**
 * The installed binary as a child process: what the in-process tests cannot see (the shebang, the exit
 * status reaching the shell, stderr of a real process). It is built fresh from src, so a stale dist/
 * neither hides a failure nor fakes a pass.
 */

const packageJson = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};

let build: FreshBuild | undefined;
let outDir: string;
/** The file package.json names as the `nest-oauth2` binary, in the fresh build. */
let main: string;
let cwd: ReturnType<typeof tempDir>;

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  stdin = '',
  started?: (child: ChildProcess) => void,
): Promise<CliResult> {
  const { NODE_OPTIONS: _, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: cwd.path, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.stdin.end(stdin);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr }),
    );
    started?.(child);
  });
}

beforeAll(async () => {
  cwd = tempDir('oauth2-cli-bin-');
  build = await buildFresh('.tmp-cli-build-');
  outDir = build.outDir;
  // The built file stands where dist/ would put the bin entry.
  const bin = relative('dist', packageJson.bin['nest-oauth2']);
  main = join(outDir, bin);
  chmodSync(main, 0o755);
}, 180_000);

afterAll(() => {
  build?.remove();
  cwd?.remove();
});

test('package.json points the binary at the built main.cjs, whose first line is the shebang', () => {
  // CommonJS, so that it sizes libuv's thread pool before anything uses it (see main.cts).
  expect(packageJson.bin['nest-oauth2']).toBe('./dist/cli/main.cjs');
  expect(main).toBe(join(outDir, 'cli', 'main.cjs'));
  expect(readFileSync(main, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
});

test('--help: exit 0, the usage on stdout', async () => {
  expect(await run(main, ['--help'])).toEqual({ code: 0, stdout: usageText(CLI), stderr: '' });
});

test('an unknown command: exit 2, one line on stderr', async () => {
  expect(await run(main, ['frob'])).toEqual({
    code: 2,
    stdout: '',
    stderr: "nest-oauth2: unknown command 'frob' (see nest-oauth2 --help)\n",
  });
});

test('client list on a database never migrated: exit 1, told to migrate', async () => {
  const databaseUrl = `sqlite:${join(cwd.path, 'db', 'clients.sqlite')}`;
  expect(await run(main, ['client', 'list'], { DATABASE_URL: databaseUrl })).toEqual({
    code: 1,
    stdout: '',
    stderr: `nest-oauth2: the database ${databaseUrl} has no table oauth_clients: run \`nest-oauth2 migrate\` first\n`,
  });
});

test('--secret-stdin reads a piped secret to its end, less the trailing newline', async () => {
  const env = { DATABASE_URL: `sqlite:${join(cwd.path, 'stdin', 'clients.sqlite')}` };
  expect((await run(main, ['migrate'], env)).code).toBe(0);
  const created = await run(
    main,
    ['client', 'create', '--id', 'piped', '--secret-stdin'],
    env,
    'a piped secret, long enough\n',
  );
  expect(created.code).toBe(0);
  const { stderr, audit } = splitAudit(created.stderr);
  expect(stderr).toBe('');
  expect(audit.map((line) => line.event)).toEqual([
    'oauth2.client.created',
    'oauth2.client.secret_added',
  ]);
  expect(created.stdout + created.stderr).not.toContain('a piped secret, long enough');
  const [row] = await readClientRows(env.DATABASE_URL, cwd.path);
  await expect(
    new ClientSecretHasher().verify('a piped secret, long enough', row.client_secret!),
  ).resolves.toBe(true);
});

test('audit: each change one JSON line on stderr; stdout the --json result alone; no secret in either', async () => {
  const env = { DATABASE_URL: `sqlite:${join(cwd.path, 'audit', 'clients.sqlite')}` };
  expect((await run(main, ['migrate'], env)).code).toBe(0);
  const created = await run(main, ['client', 'create', '--id', 'svc', '--json'], env);
  const rotated = await run(main, ['client', 'rotate-secret', 'svc', '--json'], env);
  const secrets = [created, rotated].map((result) => {
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { client_secret?: string; secret?: string };
    return json.client_secret ?? json.secret!;
  });
  const lines = (created.stderr + rotated.stderr).split('\n').filter(Boolean);
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(records.map(({ event, context, level }) => [event, context, level])).toEqual([
    ['oauth2.client.created', 'OAuth2Audit', 'log'],
    ['oauth2.client.secret_added', 'OAuth2Audit', 'log'],
    ['oauth2.client.secret_added', 'OAuth2Audit', 'log'],
    ['oauth2.client.secret_rotated', 'OAuth2Audit', 'log'],
  ]);
  expect(records.every((record) => record.clientId === 'svc' && record.source === 'cli')).toBe(
    true,
  );
  const [row] = await readClientRows(env.DATABASE_URL, cwd.path);
  for (const secret of [...secrets, row.client_secret!]) {
    expect(secret.length).toBeGreaterThan(20);
    expect(created.stderr + rotated.stderr).not.toContain(secret);
  }
});

test('SIGINT during hash-legacy-secrets: the batch in progress is finished, exit 130; a second run finishes', async () => {
  const COUNT = 120;
  const databaseUrl = `sqlite:${join(cwd.path, 'interrupt', 'clients.sqlite')}`;
  const env = { DATABASE_URL: databaseUrl };
  expect((await run(main, ['migrate'], env)).code).toBe(0);
  const ids = Array.from({ length: COUNT }, (_, i) => `client-${String(i).padStart(3, '0')}`);
  await withDatabase(databaseUrl, async (dataSource) => {
    for (const id of ids) {
      await dataSource.query('INSERT INTO oauth_clients (client_id, client_secret) VALUES (?, ?)', [
        id,
        `legacy ${id}`,
      ]);
    }
  });

  // SIGINT once some secret is hashed: seen in the table, as an operator would see the progress.
  const first = await run(main, ['client', 'hash-legacy-secrets'], env, '', (child) => {
    const poll = setInterval(() => {
      hashedCount(databaseUrl).then(
        (hashed) => {
          if (hashed > 0 && child.exitCode === null) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        },
        () => {}, // the CLI holds the file's lock: read again at the next tick
      );
    }, 50);
    child.on('close', () => clearInterval(poll));
  });
  const done = interruptedAfter(first, COUNT);
  // Not a terminal: no progress, only the notice of the interruption.
  expect(first.stderr).toBe(
    'nest-oauth2: warning: interrupted: finishing the batch in progress (interrupt again to stop at once)\n',
  );
  expect(await hashedCount(databaseUrl)).toBe(done);

  expect(await run(main, ['client', 'hash-legacy-secrets'], env)).toEqual({
    code: 0,
    stdout: `Hashed ${COUNT - done} plaintext client secrets.\n`,
    stderr: '',
  });
  const rows = await readClientRows(databaseUrl, cwd.path);
  expect(rows.map((row) => row.client_id)).toEqual(ids);
  expect(rows.every((row) => row.client_secret!.startsWith('$scrypt$'))).toBe(true);
  await expect(
    new ClientSecretHasher().verify(`legacy ${ids[0]}`, rows[0].client_secret!),
  ).resolves.toBe(true);
}, 120_000);

async function withDatabase<T>(
  url: string,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = new DataSource({ ...databaseOptionsFromUrl(url, cwd.path), entities: [] });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function hashedCount(url: string): Promise<number> {
  const [{ count }] = await withDatabase(
    url,
    (dataSource) =>
      dataSource.query(
        "SELECT COUNT(*) AS count FROM oauth_clients WHERE client_secret LIKE '$scrypt$%'",
      ) as Promise<[{ count: number }]>,
  );
  return Number(count);
}
