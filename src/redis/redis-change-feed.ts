import { describeStorageError } from '../errors/storage-error.js';
import { Logger, type LoggerService } from '@nestjs/common';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import {
  OAuth2ChangeFeed,
  type OAuth2Change,
  type OAuth2ChangeListener,
  type OAuth2RevocationRecord,
} from '../state/change-feed.js';
import type { RedisConnection } from './redis-connection.js';

/** The channel of every change, under the key prefix. */
export const changeChannel = (keyPrefix: string) => `${keyPrefix}changes`;

const MAX_ID_LENGTH = 1024;

const isId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function parseRevocation(value: unknown): OAuth2RevocationRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.kind === 'token' && isId(record.jti) && isTime(record.expiresAt)) {
    return { kind: 'token', jti: record.jti, expiresAt: record.expiresAt };
  }
  if (
    record.kind === 'client' &&
    isId(record.clientId) &&
    isTime(record.notBefore) &&
    isTime(record.expiresAt)
  ) {
    return {
      kind: 'client',
      clientId: record.clientId,
      notBefore: record.notBefore,
      expiresAt: record.expiresAt,
    };
  }
  return undefined;
}

/**
 * A change as published on the channel, or undefined when the message is not one (any other publisher's, a
 * newer version's, garbage): only the members a change has are kept. `resync` is never taken from the wire:
 * it is this process's own notice that messages may have been missed.
 */
export function parseChange(message: string): OAuth2Change | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const change = value as Record<string, unknown>;
  switch (change.type) {
    case 'client':
      return isId(change.clientId) ? { type: 'client', clientId: change.clientId } : undefined;
    case 'keys':
      return { type: 'keys' };
    case 'revocation': {
      const revocation = parseRevocation(change.revocation);
      return revocation && { type: 'revocation', revocation };
    }
    default:
      return undefined;
  }
}

/**
 * The change feed on Redis pub/sub: one channel under the key prefix, JSON messages. Every instance and the
 * CLI publish there and every instance hears every change, its own included. Pub/sub keeps nothing for a
 * subscriber that is away, so each time the subscriber (re)connects and its subscription is acknowledged,
 * listeners get `resync` and reload what they hold.
 */
export class RedisOAuth2ChangeFeed extends OAuth2ChangeFeed {
  private readonly listeners = new Set<OAuth2ChangeListener>();
  private readonly channel: string;
  private readonly logger: LoggerService;
  private listening = false;
  private malformedLogged = false;

  constructor(
    private readonly connection: RedisConnection,
    { logger }: { logger?: LoggerService } = {},
  ) {
    super();
    this.channel = changeChannel(connection.keyPrefix);
    this.logger = logger ?? new Logger('OAuth2Redis');
  }

  /** Rejects with RedisUnavailableError when Redis is away. */
  async publish(change: OAuth2Change): Promise<void> {
    if (change.type === 'resync') return this.deliver(change);
    await this.connection.run((redis) => redis.publish(this.channel, JSON.stringify(change)));
  }

  subscribe(listener: OAuth2ChangeListener): () => void {
    const entry: OAuth2ChangeListener = (change) => listener(change);
    this.listeners.add(entry);
    this.listen();
    return () => this.listeners.delete(entry);
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    const subscriber = this.connection.subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const change = parseChange(message);
      if (change) return this.deliver(change);
      if (!this.malformedLogged) {
        this.malformedLogged = true;
        this.logger.warn(
          `Ignoring a message on ${this.channel} that is not a change (logged once; further ones are ignored silently)`,
          { event: 'oauth2.redis.change_ignored', channel: this.channel } satisfies OAuth2LogFields,
        );
      }
    });
    // Every connection of the subscriber, the first included: whatever was published while it was away
    // (or before it first connected) is reloaded, once Redis has acknowledged the SUBSCRIBE: a resync
    // delivered before would miss what is published between the listeners' reload and the subscription.
    const subscribe = () =>
      subscriber.subscribe(this.channel).then(
        () => this.deliver({ type: 'resync' }),
        () => {
          // The connection dropped: its next 'ready' subscribes again; the command connection reports it.
        },
      );
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') void subscribe();
  }

  private deliver(change: OAuth2Change): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        // Its class and code only: a listener of the host's own could put anything in a message.
        const reason = describeStorageError(error);
        this.logger.error(`A change listener failed: ${reason}`, {
          event: 'oauth2.redis.change_listener_failed',
          change: change.type,
          reason,
        } satisfies OAuth2LogFields);
      }
    }
  }
}
