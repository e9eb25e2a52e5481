import { availableParallelism } from 'node:os';
import type { ClientSecretHasher, OAuthClientRepository } from '../index.js';
import type { ClientTable } from './client-table.js';
import { NO_PROGRESS, type Progress } from './progress.js';

/** The outcome of `client hash-legacy-secrets`: counts only, never a secret or a hash. */
export interface LegacySecretsResult {
  /** Plaintext secrets replaced by their hash. */
  hashed: number;
  /** Plaintext secrets that changed between reading and writing them, and were left alone. */
  skipped: number;
  /** Another scheme's `$…$` hashes: never taken for plaintext, left as they are. */
  notOurs: number;
  /** Stopped (SIGINT) after a batch, before the end of the table: running again finishes it. */
  interrupted: boolean;
}

export interface LegacySecretsOptions {
  /** How many secrets are hashed at once: scrypt runs on libuv's thread pool, one per thread. */
  concurrency: number;
  /** Rows read, hashed and written per batch. @default 8 × concurrency */
  batchSize?: number;
  /** Once aborted, the batch in progress is finished and no other is started. */
  signal?: AbortSignal;
  progress?: Progress;
}

/**
 * One pass over the clients, a batch at a time in client_id order: every `client_secret` that is none of our
 * hash formats nor another scheme's hash is a legacy plaintext secret (oauth2-server-php, yii2-oauth2-server)
 * and is replaced by its scrypt hash, so the client keeps its secret (exempt from `minSecretLength`: it
 * predates the rule). Each write is a compare-and-set, as the server's own upgrade on login: a row that
 * changed meanwhile is skipped, never overwritten. So a pass can stop anywhere and the next one picks up what
 * is still plaintext, without redoing or losing anything.
 */
export async function hashLegacySecrets(
  table: ClientTable,
  repository: OAuthClientRepository,
  hasher: ClientSecretHasher,
  {
    concurrency,
    batchSize = 8 * concurrency,
    signal,
    progress = NO_PROGRESS,
  }: LegacySecretsOptions,
): Promise<LegacySecretsResult> {
  const result: LegacySecretsResult = { hashed: 0, skipped: 0, notOurs: 0, interrupted: false };
  const total = await table.countPlaintext();
  progress.update(0, total);
  let after: string | undefined;
  try {
    for (;;) {
      const page = await table.page(after, batchSize);
      if (page.length === 0) break;
      after = page[page.length - 1].clientId;
      const plaintext = page.filter(({ clientSecret }) => {
        const kind = hasher.kindOf(clientSecret);
        if (kind === 'foreign') result.notOurs++;
        return kind === 'unknown';
      });
      await eachConcurrently(plaintext, concurrency, async ({ clientId, clientSecret }) => {
        const hash = await hasher.hash(clientSecret, { legacyImport: true });
        if (await repository.updateSecret(clientId, clientSecret, hash)) result.hashed++;
        else result.skipped++;
        progress.update(result.hashed + result.skipped, total);
      });
      if (page.length < batchSize) break;
      if (signal?.aborted) {
        result.interrupted = true;
        break;
      }
    }
  } finally {
    progress.finish();
  }
  return result;
}

/** libuv's thread pool: its size when UV_THREADPOOL_SIZE is unset, and its largest. */
const THREAD_POOL = { default: 4, max: 1024 } as const;

/**
 * How many scrypt runs can proceed at once in this process: one per thread of libuv's pool (UV_THREADPOOL_SIZE,
 * which the CLI's entry point sets to the number of cores; read as libuv reads it), and no more than the cores.
 */
export function hashConcurrency(
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  const value = env.UV_THREADPOOL_SIZE;
  const threads =
    value === undefined
      ? THREAD_POOL.default
      : Math.min(THREAD_POOL.max, Math.max(1, Number.parseInt(value, 10) || 1));
  return Math.min(threads, availableParallelism());
}

/** Runs `work` on every item, at most `limit` at a time; the first failure is thrown once all settle. */
async function eachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
