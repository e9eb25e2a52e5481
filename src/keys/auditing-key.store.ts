import { Logger, type LoggerService } from '@nestjs/common';
import { describeStorageError } from '../errors/storage-error.js';
import { readForAudit, warnChangeUnread, type AuditRead } from '../observability/audit-read.js';
import type {
  OAuth2ChangeSource,
  OAuth2EventSink,
  OAuth2KeyEvent,
} from '../observability/events.js';
import type { OAuth2StoredKeyAlgorithm, OAuthKeyInfo } from './key-lifecycle.js';
import { OAuth2KeyStore, type KeyActivationOptions } from './key-store.js';
import type { SigningKey } from './signing-keys.js';

const EVENT_OF_STATE = {
  active: 'oauth2.key.activated',
  retired: 'oauth2.key.retired',
  next: undefined,
} as const;

/**
 * Announces every change made through another key store as an audit event (`oauth2.key.generated`,
 * `activated`, `retired`, `pruned`), once the change has succeeded: a refused transition or a concurrent
 * change that wrote nothing announces nothing. Kid, algorithm and source only, never key material. Wrapped
 * around whatever key store is configured, in DI and by the CLI.
 *
 * The wrapper gives each change its time (`now`), so that what a change did can be told from the keys'
 * timestamps rather than from a snapshot taken before it (which a concurrent activation would falsify). A read
 * the wrapper makes (bounded by `timeoutMs`) that fails or does not answer never fails the change: it is
 * announced with what is known, and an `oauth2.audit.change_unread` warning is logged.
 */
export class AuditingOAuth2KeyStore extends OAuth2KeyStore {
  private readonly timeoutMs: number;
  private readonly logger: Pick<LoggerService, 'warn'>;

  constructor(
    readonly inner: OAuth2KeyStore,
    private readonly events: OAuth2EventSink,
    private readonly source: OAuth2ChangeSource,
    {
      timeoutMs = 5000,
      logger = new Logger('OAuth2Audit'),
    }: { timeoutMs?: number; logger?: Pick<LoggerService, 'warn'> } = {},
  ) {
    super();
    this.timeoutMs = timeoutMs;
    this.logger = logger;
  }

  list(): Promise<OAuthKeyInfo[]> {
    return this.inner.list();
  }

  load(): Promise<SigningKey[]> {
    return this.inner.load();
  }

  /**
   * `generated`; with `activate`, also `activated` for it and `retired` for each key it replaced: read after
   * the change, the keys retired at the very time the new key became active (one transaction stamps both).
   * Residual race: another activation stamped with the same millisecond would be counted too. When that read
   * fails, `retired` is not announced (the warning says so).
   */
  async generate(
    algorithm: OAuth2StoredKeyAlgorithm,
    options?: { activate?: boolean; now?: Date },
  ): Promise<OAuthKeyInfo> {
    const key = await this.inner.generate(algorithm, {
      ...options,
      now: options?.now ?? new Date(),
    });
    this.emit('oauth2.key.generated', key);
    if (key.state !== 'active') return key;
    this.emit('oauth2.key.activated', key);
    const after = await readForAudit(() => this.inner.list(), this.timeoutMs);
    if (!('value' in after)) {
      this.unread(after, 'generate', key.kid);
      return key;
    }
    const at = key.activatedAt?.getTime();
    for (const old of after.value) {
      if (old.kid !== key.kid && old.state === 'retired' && old.retiredAt?.getTime() === at) {
        this.emit('oauth2.key.retired', old);
      }
    }
    return key;
  }

  /** `activated` for the key, `retired` for the key it replaced; nothing for the active key. */
  async activate(kid: string, options: KeyActivationOptions): Promise<OAuthKeyInfo[]> {
    const changed = await this.inner.activate(kid, options);
    // The activated key first, as it happened: it took over from the one retired.
    const ordered = [...changed].sort((a, b) =>
      a.state === 'active' ? -1 : b.state === 'active' ? 1 : 0,
    );
    for (const key of ordered) {
      const type = EVENT_OF_STATE[key.state];
      if (type) this.emit(type, key);
    }
    return changed;
  }

  /**
   * `retired`, unless the key was retired already: told by a read before the change, or, when that read fails,
   * by the key's retirement time being the one this call gave it (so an unread retirement of a key retired in
   * the same millisecond is announced again).
   */
  async retire(kid: string, options?: { now?: Date }): Promise<OAuthKeyInfo> {
    const now = options?.now ?? new Date();
    const before = await readForAudit(() => this.inner.list(), this.timeoutMs);
    const key = await this.inner.retire(kid, { ...options, now });
    let wasRetired;
    if ('value' in before) {
      wasRetired = before.value.find((other) => other.kid === kid)?.state === 'retired';
    } else {
      wasRetired = key.retiredAt?.getTime() !== now.getTime();
      this.unread(before, 'retire', kid);
    }
    if (!wasRetired && key.state === 'retired') this.emit('oauth2.key.retired', key);
    return key;
  }

  /** `pruned` for each key removed. */
  async prune(longestLifetime: number, now?: Date): Promise<OAuthKeyInfo[]> {
    const removed = await this.inner.prune(longestLifetime, now);
    for (const key of removed) this.emit('oauth2.key.pruned', key);
    return removed;
  }

  private unread(
    read: Exclude<AuditRead<unknown>, { value: unknown }>,
    operation: string,
    kid: string,
  ) {
    const { timeoutMs } = this;
    warnChangeUnread(
      this.logger,
      read,
      { timeoutMs, describe: describeStorageError },
      { operation, kid },
    );
  }

  private emit(type: OAuth2KeyEvent['type'], { kid, algorithm }: OAuthKeyInfo): void {
    try {
      this.events.emit({
        type,
        kid,
        algorithm,
        source: this.source,
      });
    } catch {
      // A sink must not throw (events.ts); the key change stands whatever it does.
    }
  }
}
