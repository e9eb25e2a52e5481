import type { LoggerService } from '@nestjs/common';
import type { OAuth2LogFields } from './log-fields.js';

/** What an audit wrapper's read found: the value, or why there is none (it failed, or did not answer in time). */
export type AuditRead<T> = { value: T } | { failed: unknown } | { timedOut: true };

/**
 * A read an audit wrapper makes around a change (what the change replaces), bounded by `timeoutMs` (the
 * module's `storageTimeoutMs`): it never throws and never holds the change up longer than that. A storage may
 * take writes while its reads fail or hang; the change goes ahead either way, announced with what is known.
 */
export async function readForAudit<T>(
  read: () => Promise<T>,
  timeoutMs: number,
): Promise<AuditRead<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      read().then(
        (value) => ({ value }),
        (failed: unknown) => ({ failed }),
      ),
      new Promise<AuditRead<T>>((resolve) => {
        timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
        timer.unref();
      }),
    ]);
  } catch (failed) {
    // `read` itself threw before returning a promise.
    return { failed };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Logs that a change was made but what it replaced could not be read, so its audit event says less than it
 * would (`oauth2.audit.change_unread`): the event is still emitted, never lost silently. `describe` turns a
 * storage error into what is safe to log (its class and code); `fields` names the change (ids only).
 */
export function warnChangeUnread(
  logger: Pick<LoggerService, 'warn'>,
  read: Exclude<AuditRead<unknown>, { value: unknown }>,
  { timeoutMs, describe }: { timeoutMs: number; describe: (error: unknown) => string },
  fields: Omit<OAuth2LogFields, 'event' | 'reason'>,
): void {
  const reason = 'failed' in read ? describe(read.failed) : `no answer within ${timeoutMs} ms`;
  logger.warn(`A change was recorded without reading what it replaced: ${reason}`, {
    event: 'oauth2.audit.change_unread',
    reason,
    ...fields,
  } satisfies OAuth2LogFields);
}
