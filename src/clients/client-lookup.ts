import type { Logger } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { describeStorageError } from '../errors/storage-error.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';

/** Seconds a client is asked to wait after a storage failure (RFC 9110 §10.2.3 Retry-After). */
const STORAGE_RETRY_AFTER_SECONDS = 5;

/** A storage call that took longer than the module's `storageTimeoutMs`. */
class StorageTimeout extends Error {
  override readonly name = 'StorageTimeout';
}

/**
 * A client lookup on a request's path, bounded by `timeoutMs`: a storage failure or a hung database is logged
 * (class and code only) and becomes a 503 with Retry-After, never a 401 nor a request held open.
 */
export async function lookUpClient<T>(
  lookup: Promise<T>,
  timeoutMs: number,
  logger: Logger,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      lookup,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StorageTimeout()), timeoutMs);
      }),
    ]);
  } catch (error) {
    const reason = describeStorageError(error);
    logger.error(`Client lookup failed: ${reason}`, {
      event: 'oauth2.clients.lookup_failed',
      reason,
    } satisfies OAuth2LogFields);
    throw OAuth2Error.temporarilyUnavailable(STORAGE_RETRY_AFTER_SECONDS);
  } finally {
    clearTimeout(timer);
  }
}
