import { Logger, type LoggerService } from '@nestjs/common';
import { describeStorageError } from '../errors/storage-error.js';
import { readForAudit, warnChangeUnread } from '../observability/audit-read.js';
import type {
  OAuth2ChangeSource,
  OAuth2EventInput,
  OAuth2EventSink,
} from '../observability/events.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

/** The settings an `oauth2.client.updated` event may name: every column (values are never put in events). */
const FIELDS = Object.keys(OAuthClient.create({ clientId: '' })) as (keyof OAuthClient)[];

const same = (a: unknown, b: unknown): boolean =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

export interface AuditingOptions {
  /** How long a read of what a change replaces may take (the module's `storageTimeoutMs`). @default 5000 */
  timeoutMs?: number;
  /** Where `oauth2.audit.change_unread` warnings go. @default Nest's Logger, context `OAuth2Audit` */
  logger?: Pick<LoggerService, 'warn'>;
}

/**
 * Announces every change made through another repository as an audit event: a client created, updated or
 * deleted, a secret added, revoked, or a rotation. Wrapped around whatever storage is configured (in DI, and
 * by the CLI around its own), so events follow the store rather than the caller. An event is emitted once the
 * write has succeeded, never for one that failed or changed nothing. Names, ids and times only: never a
 * secret, a hash or a key.
 *
 * What a change replaces is read first (bounded by `timeoutMs`), to tell `created` from `updated` and name the
 * fields. A read that fails or does not answer in time never fails nor loses the change: the write goes ahead,
 * its event says what is known (`updated` without `fields`, each secret asked to expire as revoked), and an
 * `oauth2.audit.change_unread` warning is logged.
 *
 * Re-hashing a secret in place (`updateSecret`, `updateSecretHash`: a legacy or pepper upgrade of the same
 * secret) and recording its use (`touchSecret`) are not changes of the client, and announce nothing.
 */
export class AuditingOAuthClientRepository extends OAuthClientRepository {
  private readonly timeoutMs: number;
  private readonly logger: Pick<LoggerService, 'warn'>;

  constructor(
    readonly inner: OAuthClientRepository,
    private readonly events: OAuth2EventSink,
    private readonly source: OAuth2ChangeSource,
    { timeoutMs = 5000, logger = new Logger('OAuth2Audit') }: AuditingOptions = {},
  ) {
    super();
    this.timeoutMs = timeoutMs;
    this.logger = logger;
  }

  findById(clientId: string): Promise<OAuthClient | null> {
    return this.inner.findById(clientId);
  }

  list(): Promise<OAuthClient[]> {
    return this.inner.list();
  }

  override findSecrets(clientId: string): Promise<OAuthClientSecret[]> {
    return this.inner.findSecrets(clientId);
  }

  /**
   * `created`, or `updated` naming the fields that changed; the seed column's secret (`primary`) set or
   * replaced is also `secret_added`, cleared `secret_revoked`. A save that changes nothing announces nothing.
   */
  async save(client: OAuthClient): Promise<void> {
    const { clientId } = client;
    await this.afterRead(
      'save',
      clientId,
      () => this.inner.findById(clientId),
      () => this.inner.save(client),
      // Unread: whether it was created, and what changed (the secret among it), is unknown.
      () => this.emit({ type: 'oauth2.client.updated', clientId, source: this.source }),
      (before) => {
        if (before === null) {
          this.emit({ type: 'oauth2.client.created', clientId, source: this.source });
        } else {
          const fields = FIELDS.filter((field) => !same(before[field], client[field]));
          if (fields.length > 0) {
            this.emit({ type: 'oauth2.client.updated', clientId, fields, source: this.source });
          }
        }
        const previous = before?.clientSecret ?? null;
        if (client.clientSecret !== null && client.clientSecret !== previous) {
          this.secretAdded(clientId, PRIMARY_SECRET_ID, client.clientSecretExpiresAt);
        } else if (client.clientSecret === null && previous !== null) {
          this.secretRevoked(clientId, PRIMARY_SECRET_ID);
        }
      },
    );
  }

  updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    return this.inner.updateSecret(clientId, expected, next);
  }

  async delete(clientId: string): Promise<boolean> {
    const deleted = await this.inner.delete(clientId);
    if (deleted) this.emit({ type: 'oauth2.client.deleted', clientId, source: this.source });
    return deleted;
  }

  override async addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    await this.inner.addSecret(clientId, secret);
    this.secretAdded(clientId, secret.id, secret.expiresAt);
  }

  override async removeSecret(clientId: string, secretId: string): Promise<boolean> {
    const removed = await this.inner.removeSecret(clientId, secretId);
    if (removed) this.secretRevoked(clientId, secretId);
    return removed;
  }

  /**
   * `secret_revoked` for each secret that stopped or will stop sooner than it would have: one that already
   * expired at or before `at` is left as it is, and announced by no event.
   */
  override async expireSecrets(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<void> {
    await this.afterRead(
      'expireSecrets',
      clientId,
      () => this.secretsOutliving(clientId, secretIds, at),
      () => this.inner.expireSecrets(clientId, secretIds, at),
      // Unread: each secret asked for, though one that had already expired was left as it was.
      () => {
        for (const secretId of secretIds) this.secretRevoked(clientId, secretId, at);
      },
      (live) => {
        for (const secretId of live) this.secretRevoked(clientId, secretId, at);
      },
    );
  }

  /**
   * `secret_added` for the new secret as soon as it is stored, then `secret_rotated` naming when the others
   * stop. A rotation that is not atomic (the base class: add, then expire) and fails after the add still
   * announces the secret it added.
   */
  override async rotateSecret(
    clientId: string,
    secret: OAuthClientSecret,
    expireOthersAt: Date,
  ): Promise<string[]> {
    let added = false;
    const announceAdded = () => {
      if (added) return;
      added = true;
      this.secretAdded(clientId, secret.id, secret.expiresAt);
    };
    const expiring = await this.inner.rotateSecret(clientId, secret, expireOthersAt, announceAdded);
    // A storage that rotates atomically (its own override) may never call back: announced now.
    announceAdded();
    this.emit({
      type: 'oauth2.client.secret_rotated',
      clientId,
      secretId: secret.id,
      previousExpireAt: expireOthersAt.toISOString(),
      source: this.source,
    });
    return expiring;
  }

  override updateSecretHash(
    clientId: string,
    secretId: string,
    expected: string,
    next: string,
  ): Promise<boolean> {
    return this.inner.updateSecretHash(clientId, secretId, expected, next);
  }

  override touchSecret(clientId: string, secretId: string, at: Date): Promise<void> {
    return this.inner.touchSecret(clientId, secretId, at);
  }

  /**
   * Reads what `write` will replace (bounded by `timeoutMs`), runs `write`, then `report`s what the read found,
   * or, when it failed or did not answer in time, `unread` (the event with what is known) and a warning. A
   * failed write announces nothing.
   */
  private async afterRead<T, R>(
    operation: string,
    clientId: string,
    read: () => Promise<T>,
    write: () => Promise<R>,
    unread: () => void,
    report: (before: T) => void,
  ): Promise<R> {
    const before = await readForAudit(read, this.timeoutMs);
    const result = await write();
    if ('value' in before) {
      report(before.value);
    } else {
      unread();
      const { timeoutMs } = this;
      const settings = { timeoutMs, describe: describeStorageError };
      warnChangeUnread(this.logger, before, settings, { operation, clientId });
    }
    return result;
  }

  /** Which of `secretIds` the client holds that would outlive `at`: what `expireSecrets` changes. */
  private async secretsOutliving(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<string[]> {
    // Both sent at once, before the write starts.
    const [client, others] = await Promise.all([
      this.inner.findById(clientId),
      this.inner.findSecrets(clientId),
    ]);
    if (!client) return [];
    const secrets = [
      ...(client.clientSecret === null
        ? []
        : [{ id: PRIMARY_SECRET_ID, expiresAt: client.clientSecretExpiresAt }]),
      ...others,
    ];
    return secrets
      .filter((secret) => secretIds.includes(secret.id))
      .filter((secret) => secret.expiresAt === null || secret.expiresAt > at)
      .map((secret) => secret.id);
  }

  private secretAdded(clientId: string, secretId: string, expiresAt: Date | null): void {
    this.emit({
      type: 'oauth2.client.secret_added',
      clientId,
      secretId,
      expiresAt: iso(expiresAt),
      source: this.source,
    });
  }

  private secretRevoked(clientId: string, secretId: string, at = new Date()): void {
    this.emit({
      type: 'oauth2.client.secret_revoked',
      clientId,
      secretId,
      expiresAt: at.toISOString(),
      source: this.source,
    });
  }

  /** A sink must not throw (events.ts); one that does must not turn a saved change into a failure. */
  private emit(event: OAuth2EventInput): void {
    try {
      this.events.emit(event);
    } catch {
      // The change stands; the sink's own failure is the sink's to report.
    }
  }
}
