import { Injectable, Logger } from '@nestjs/common';
import { ClientSecretHasher } from '../clients/client-secret.hasher.js';
import { CLIENT_ID_PATTERN, type OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { KdfBusyError } from './kdf-limiter.js';
import { SecretVerifier } from './secret-verifier.js';
import { describeStorageError } from '../errors/storage-error.js';

const MAX_CLIENT_ID_LENGTH = 80;
const STORAGE_RETRY_AFTER_SECONDS = 5;
const KDF_RETRY_AFTER_SECONDS = 1;

class StorageTimeout extends Error {
  override readonly name = 'StorageTimeout';
}

/**
 * Checks a client's credentials against storage (RFC 6749 §2.3.1). Every failure is the same 401
 * invalid_client, and an unknown client costs a digest verification, as a client with a generated secret
 * does. A client with a chosen (scrypt) secret costs more per wrong secret, so its existence still shows in
 * the timing: a known gap (test.failing in test/token.e2e-spec.ts), closed by the abuse-resistance work.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
    private readonly verifier: SecretVerifier,
    private readonly config: OAuth2Config,
  ) {}

  /**
   * The authenticated client, or an OAuth2Error. `clientSecret` undefined means the client sent none (the
   * `none` method): only a public client, one with no stored secret, authenticates so.
   */
  async authenticate(clientId: string, clientSecret: string | undefined): Promise<OAuthClient> {
    const client = await this.find(clientId);
    const secret = clientSecret ?? '';
    if (!client) {
      await this.hasher.verifyDummy(secret);
      throw OAuth2Error.invalidClient();
    }
    if (client.clientSecret === null) {
      // A public client (§2.1) has nothing to check a secret against: sending one is a failed authentication.
      if (clientSecret !== undefined) {
        await this.hasher.verifyDummy(secret);
        throw OAuth2Error.invalidClient();
      }
      return client;
    }
    if (clientSecret === undefined || !(await this.verifySecret(client, clientSecret))) {
      throw OAuth2Error.invalidClient();
    }
    return client;
  }

  private async verifySecret(client: OAuthClient, secret: string): Promise<boolean> {
    const stored = client.clientSecret!;
    if (this.hasher.isHash(stored)) {
      try {
        return await this.verifier.verify(client.clientId, secret, stored);
      } catch (error) {
        if (error instanceof KdfBusyError) throw OAuth2Error.busy(KDF_RETRY_AFTER_SECONDS);
        throw error;
      }
    }
    if (!this.config.legacyPlaintextSecrets) {
      await this.hasher.verifyDummy(secret);
      return false;
    }
    if (!this.hasher.verifyPlaintext(secret, stored)) return false;
    await this.upgradeLegacySecret(client, stored, secret);
    return true;
  }

  /**
   * Rewrites a plaintext row as a hash. Compare-and-set on the old value: when concurrent requests race, one
   * write wins and the others find the row already changed, and every one of them still succeeds. A failed
   * write is logged and retried on the next authentication; it never fails this one.
   */
  private async upgradeLegacySecret(
    client: OAuthClient,
    stored: string,
    secret: string,
  ): Promise<void> {
    const name = JSON.stringify(client.clientId);
    try {
      const hash = await this.verifier.derive(() => this.hasher.hash(secret));
      if (!(await this.clients.updateSecret(client.clientId, stored, hash))) return;
      // A column narrower than the hash (yii2-oauth2-server made it VARCHAR(32)) is cut short silently by a
      // non-strict MySQL, which would lock the client out: read back, and restore the plaintext if so.
      const written = (await this.clients.findById(client.clientId))?.clientSecret;
      if (written !== hash) {
        // Anything but a cut-off copy of our hash is a concurrent change (a rotation): leave it alone.
        if (!written || !hash.startsWith(written)) return;
        await this.clients.updateSecret(client.clientId, written, stored);
        this.logger.error(
          `Client ${name}: the client_secret column cannot hold a hash (80 characters); the plaintext secret was kept. Widen the column.`,
        );
        return;
      }
      this.logger.log(`Client ${name}: plaintext secret replaced by a hash`);
    } catch (error) {
      this.logger.warn(
        `Could not upgrade a plaintext client secret: ${describeStorageError(error)}`,
      );
    }
  }

  private async find(clientId: string): Promise<OAuthClient | null> {
    // No stored client can have such an id (Appendix A.1, VARCHAR(80)): spare the database the query.
    if (clientId.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID_PATTERN.test(clientId)) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageTimeout()), this.config.storageTimeoutMs);
    });
    try {
      return await Promise.race([this.clients.findById(clientId), timeout]);
    } catch (error) {
      this.logger.error(`Client lookup failed: ${describeStorageError(error)}`);
      throw OAuth2Error.temporarilyUnavailable(STORAGE_RETRY_AFTER_SECONDS);
    } finally {
      clearTimeout(timer);
    }
  }
}
