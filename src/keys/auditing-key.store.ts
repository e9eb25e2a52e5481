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
 */
export class AuditingOAuth2KeyStore extends OAuth2KeyStore {
  constructor(
    readonly inner: OAuth2KeyStore,
    private readonly events: OAuth2EventSink,
    private readonly source: OAuth2ChangeSource,
  ) {
    super();
  }

  list(): Promise<OAuthKeyInfo[]> {
    return this.inner.list();
  }

  load(): Promise<SigningKey[]> {
    return this.inner.load();
  }

  /** `generated`; with `activate`, also `activated` for it and `retired` for the key it replaced. */
  async generate(
    algorithm: OAuth2StoredKeyAlgorithm,
    options?: { activate?: boolean; now?: Date },
  ): Promise<OAuthKeyInfo> {
    const replaced = options?.activate
      ? (await this.inner.list()).filter((key) => key.state === 'active')
      : [];
    const key = await this.inner.generate(algorithm, options);
    this.emit('oauth2.key.generated', key);
    if (key.state === 'active') {
      this.emit('oauth2.key.activated', key);
      for (const old of replaced) this.emit('oauth2.key.retired', old);
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

  /** `retired`, unless the key was retired already. */
  async retire(kid: string, options?: { now?: Date }): Promise<OAuthKeyInfo> {
    const before = (await this.inner.list()).find((key) => key.kid === kid);
    const key = await this.inner.retire(kid, options);
    if (before?.state !== 'retired' && key.state === 'retired') {
      this.emit('oauth2.key.retired', key);
    }
    return key;
  }

  /** `pruned` for each key removed. */
  async prune(longestLifetime: number, now?: Date): Promise<OAuthKeyInfo[]> {
    const removed = await this.inner.prune(longestLifetime, now);
    for (const key of removed) this.emit('oauth2.key.pruned', key);
    return removed;
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
