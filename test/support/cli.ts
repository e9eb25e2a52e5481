import { expect } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl } from '../../src/cli/database-url.js';
import { runCli, type CliDependencies, type CliIo } from '../../src/cli/run-cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An audit line the CLI writes on stderr: Nest's JSON log record, with the event's fields. */
export interface AuditLine {
  level: string;
  context: string;
  message: string;
  event: string;
  [field: string]: unknown;
}

/** Whether a write to stderr is an audit line (one JSON record, on a line of its own) rather than a message. */
export function isAuditLine(text: string): boolean {
  return text.startsWith('{"level":') && text.endsWith('}\n');
}

/** The audit lines of a real process's stderr, parsed, and the rest of it as it was. */
export function splitAudit(stderr: string): { stderr: string; audit: AuditLine[] } {
  const lines = stderr.split(/(?<=\n)/);
  return {
    stderr: lines.filter((line) => !isAuditLine(line)).join(''),
    audit: lines.filter(isAuditLine).map((line) => JSON.parse(line) as AuditLine),
  };
}

/** A temporary folder; `remove()` deletes it with everything in it. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Runs the CLI in-process the way run-process.ts does, capturing what it writes; `io` adds a terminal or
 * interruptions, and `onStderr` sees each write to stderr as it happens. The audit lines are kept out of
 * `stderr` (which then holds the messages for people) and given to `onAudit`, parsed.
 */
export async function runCapturing(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
  dependencies?: CliDependencies,
  {
    onStderr,
    onAudit,
    ...io
  }: Pick<CliIo, 'stderrIsTerminal' | 'onInterrupt'> & {
    onStderr?: (text: string) => void;
    onAudit?: (line: AuditLine) => void;
  } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {
      ...io,
      stdout: (text) => (stdout += text),
      stderr: (text) => {
        if (isAuditLine(text)) {
          onAudit?.(JSON.parse(text) as AuditLine);
          return;
        }
        stderr += text;
        onStderr?.(text);
      },
      env,
      cwd,
    },
    dependencies,
  );
  return { code, stdout, stderr };
}

/**
 * The outcome of an interrupted `client hash-legacy-secrets`: exit status 130, and how many of `total` secrets
 * it hashed, at least one and not all.
 */
export function interruptedAfter(result: CliResult, total: number): number {
  expect(result.code).toBe(130);
  const done = Number(
    /^Interrupted: hashed (\d+) plaintext client secrets; run the command again to finish\.\n$/.exec(
      result.stdout,
    )?.[1],
  );
  expect(done).toBeGreaterThan(0);
  expect(done).toBeLessThan(total);
  return done;
}

export interface StoredClientRow {
  client_id: string;
  client_secret: string | null;
  redirect_uri: string | null;
  grant_types: string | null;
  scope: string | null;
  user_id: string | null;
  client_secret_expires_at: number | string | null;
  client_secret_last_used_at: number | string | null;
  token_endpoint_auth_method: string | null;
  jwks: string | null;
  jwks_uri: string | null;
  access_token_lifetime: number | null;
  audience: string | null;
  disabled: number | boolean;
}

/** A stored row's lifecycle columns as the migration creates them, untouched. */
export const LIFECYCLE_DEFAULTS = {
  client_secret_expires_at: null,
  client_secret_last_used_at: null,
  token_endpoint_auth_method: null,
  jwks: null,
  jwks_uri: null,
  access_token_lifetime: null,
  audience: null,
  disabled: 0,
} as const;

/** The rows of `oauth_clients` as stored, read with plain SQL around the library's own code. */
export async function readClientRows(databaseUrl: string, cwd: string): Promise<StoredClientRow[]> {
  const dataSource = new DataSource({
    ...databaseOptionsFromUrl(databaseUrl, cwd),
    entities: [],
    synchronize: false,
  });
  await dataSource.initialize();
  try {
    return await dataSource.query('SELECT * FROM oauth_clients ORDER BY client_id');
  } finally {
    await dataSource.destroy();
  }
}
