import {
  Logger,
  type LoggerService,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { describeStorageError } from '../errors/storage-error.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import { OAuth2KeyRing } from './key-ring.js';
import { OAuth2KeyStore } from './key-store.js';
import { OAuth2KeyStoreError } from './key-store-error.js';
import { SigningKeySet } from './signing-key-set.js';

export interface RefreshingKeyRingOptions {
  /** Seconds between two reloads. */
  refreshInterval: number;
  /** Where a failed reload is reported. @default Nest's Logger, context OAuth2KeyRing */
  logger?: LoggerService;
}

/**
 * The keys of a key store, loaded when the module starts and reloaded every `refreshInterval` seconds, so
 * every instance of the server follows a rotation made elsewhere (the CLI, another instance) without a
 * restart. Start-up fails when the keys cannot be loaded or none is active; a failed reload keeps the last
 * good keys and logs a warning.
 */
export class RefreshingKeyRing extends OAuth2KeyRing implements OnModuleInit, OnModuleDestroy {
  private keys: SigningKeySet | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logger: LoggerService;

  constructor(
    private readonly store: OAuth2KeyStore,
    private readonly options: RefreshingKeyRingOptions,
  ) {
    super();
    this.logger = options.logger ?? new Logger('OAuth2KeyRing');
  }

  get current(): SigningKeySet {
    if (!this.keys) {
      throw new Error(
        'OAuth2Module: the signing keys are not loaded yet (they load at module init)',
      );
    }
    return this.keys;
  }

  async onModuleInit(): Promise<void> {
    try {
      this.keys = await this.read();
    } catch (error) {
      throw new Error(
        `OAuth2Module: cannot load the signing keys from the key store: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.schedule();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Reloads the keys now. False when that failed: the keys loaded before stay in force. */
  async refresh(): Promise<boolean> {
    try {
      this.keys = await this.read();
      return true;
    } catch (error) {
      // Our own messages name kids and settings only; a driver's may quote SQL or a host: class and code.
      const reason =
        error instanceof OAuth2KeyStoreError ? error.message : describeStorageError(error);
      const kept = this.keys?.keys.length ?? 0;
      this.logger.warn(
        `Could not reload the signing keys (${reason}); keeping the ${kept} key(s) loaded before`,
        { event: 'oauth2.keys.reload_failed', reason, keptKeys: kept } satisfies OAuth2LogFields,
      );
      return false;
    }
  }

  private async read(): Promise<SigningKeySet> {
    const keys = await this.store.load();
    if (!keys.some((key) => key.state === 'active')) {
      throw new OAuth2KeyStoreError(
        'no_usable_key_set',
        `it holds ${keys.length} signing key(s) and none is active: generate one with ` +
          '`nest-oauth2 keys generate --activate`, or activate a next key',
      );
    }
    try {
      return new SigningKeySet(keys);
    } catch (error) {
      const problem = (error as Error).message.replace(/^OAuth2Module: /, '');
      throw new OAuth2KeyStoreError('no_usable_key_set', problem);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.refresh();
      this.schedule();
    }, this.options.refreshInterval * 1000);
    // A pending reload never keeps the process alive.
    this.timer.unref();
  }
}
