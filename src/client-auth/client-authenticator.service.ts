import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { ClientSecretHasher, type StoredSecretKind } from '../clients/client-secret.hasher.js';
import {
  CLIENT_ID_PATTERN,
  PRIMARY_SECRET_ID,
  secretsOf,
  type OAuthClient,
  type OAuthClientSecret,
} from '../clients/oauth-client.entity.js';
import { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { lookUpClient } from '../clients/client-lookup.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { refusal } from './auth-failure.js';
import { KdfBusyError } from './kdf-limiter.js';
import { SecretVerifier } from './secret-verifier.js';
import { describeStorageError } from '../errors/storage-error.js';

const MAX_CLIENT_ID_LENGTH = 80;
/** A secret's last use is written at most this often (per secret and process). */
const USE_RECORD_INTERVAL_MS = 5 * 60 * 1000;
const KDF_RETRY_AFTER_SECONDS = 1;
/** What the warning about an unverifiable stored secret tells the operator to do, by what the secret is. */
const FOREIGN_HASH_ADVICE =
  'is a hash of another scheme (bcrypt, argon2…), which this server does not verify: give the client a new ' +
  "secret (`npx nest-oauth2 client rotate-secret`, or ClientSecretHasher's createSecret() in a storage of " +
  'your own)';
const PLAINTEXT_ADVICE =
  'is no hash this server reads (a plaintext secret?): store the hash ClientSecretHasher makes ' +
  '(createSecret(), or hash() of a chosen secret; README "Custom client storage"), hash a table\'s plaintext ' +
  'secrets with `npx nest-oauth2 client hash-legacy-secrets`, or set legacyPlaintextSecrets to accept and ' +
  'upgrade them';

/**
 * Checks a client's credentials against storage (RFC 6749 §2.3.1). Every failure is the same 401
 * invalid_client, and an unknown client costs a digest verification, as a client with a generated secret
 * does. A client with a chosen (scrypt) secret costs more per wrong secret, so its existence still shows in
 * the timing: a known gap (test.failing in test/token.e2e-spec.ts), closed by the abuse-resistance work.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly logger = new Logger('OAuth2');
  /** When this process last recorded each secret's use. */
  private readonly recorded = new LRUCache<string, number>({ max: 10_000 });
  /** Clients whose unreadable secret was already reported. */
  private readonly warned = new LRUCache<string, true>({ max: 1_000 });

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
    private readonly verifier: SecretVerifier,
    private readonly config: OAuth2Config,
  ) {}

  /**
   * The authenticated client, or an OAuth2Error. `clientSecret` undefined means the client sent none (the
   * `none` method): only a public client authenticates so. A secret is accepted when it matches any of the
   * client's unexpired secrets (`client_secret` and those of `findSecrets()`). `requester` (the remote
   * address) shares key-derivation work fairly between whoever asks for it.
   *
   * A refusal is marked with its reason (`refusalReason()`), for the audit event: `unknown_client`,
   * `method_not_allowed` (no secret from a confidential client), `expired_secret` or `wrong_secret`.
   */
  async authenticate(
    clientId: string,
    clientSecret: string | undefined,
    requester = '',
  ): Promise<OAuthClient> {
    const found = await this.find(clientId);
    const secret = clientSecret ?? '';
    if (!found) {
      await this.hasher.verifyDummy(secret);
      throw refusal('unknown_client');
    }
    const { client, secrets } = found;
    if (clientSecret === undefined) {
      // The `none` method, by a client registered with a secret.
      if (!isPublicClient(client, secrets)) throw refusal('method_not_allowed');
      return client;
    }
    const all = secretsOf(client, secrets);
    const live = all.filter((secret) => isLive(secret, Date.now()));
    const expired = all.filter((secret) => !live.includes(secret));
    const used = await this.matching(client, live, expired, clientSecret, requester);
    if (!used) throw refusal('wrong_secret');
    if (!live.includes(used)) throw refusal('expired_secret');
    this.recordUse(client.clientId, used);
    if (this.hasher.needsUpgrade(used.hash)) {
      await this.upgradeToPepper(client.clientId, used, clientSecret, requester);
    }
    return client;
  }

  /**
   * The secret among `live` that `presented` matches, or undefined; a public client has none to match. An
   * `expired` secret is returned only when checking it costs no KDF work beyond what the live ones cost (see
   * `cheaplyChecked`), so that a refusal can say `expired_secret`.
   */
  private async matching(
    client: OAuthClient,
    live: OAuthClientSecret[],
    expired: OAuthClientSecret[],
    presented: string,
    requester: string,
  ): Promise<OAuthClientSecret | undefined> {
    const hashed = live.filter((secret) => this.hasher.isHash(secret.hash));
    // Only the seed column may hold a legacy plaintext secret, and never anything shaped like a hash of
    // another scheme (`$2y$…`): that would make the hash itself the password.
    const unread = live.find(
      (secret) => secret.id === PRIMARY_SECRET_ID && this.hasher.kindOf(secret.hash) === 'unknown',
    );
    const plaintext = this.config.legacyPlaintextSecrets ? unread : undefined;
    // Anything else that is no hash of ours can never match: a storage of one's own holding a plaintext
    // secret or a bcrypt hash would otherwise fail with nothing but a 401.
    const unverifiable = live.find(
      (secret) => secret !== plaintext && !this.hasher.isHash(secret.hash),
    );
    if (unverifiable) this.warnUnverifiable(client.clientId, this.hasher.kindOf(unverifiable.hash));
    if (plaintext && this.hasher.verifyPlaintext(presented, plaintext.hash)) {
      await this.upgradeLegacySecret(client, plaintext.hash, presented, requester);
      return plaintext;
    }
    const candidates = [...hashed, ...this.cheaplyChecked(hashed, expired)];
    if (hashed.length === 0) {
      // Nothing live to check against (a public client, a plaintext row with legacy mode off, every secret
      // expired): the same work as an unknown client.
      await this.hasher.verifyDummy(presented);
      if (candidates.length === 0) return undefined;
    }
    try {
      const index = await this.verifier.verifyAny(
        client.clientId,
        presented,
        candidates.map((secret) => secret.hash),
        requester,
      );
      return candidates[index];
    } catch (error) {
      if (error instanceof KdfBusyError) throw OAuth2Error.busy(KDF_RETRY_AFTER_SECONDS);
      throw error;
    }
  }

  /**
   * The expired secrets worth checking, for `expired_secret`: those whose check costs no KDF derivation beyond
   * the live secrets' own. A keyed digest (a generated secret) costs microseconds; a chosen secret's scrypt
   * hash is checked only when it shares its cost and salt with a live one (a client's chosen secrets share a
   * salt), so the one derivation made anyway checks it too. An expired chosen secret with a salt of its own,
   * or one of a client with no live chosen secret, is not checked: presenting it is reported as `wrong_secret`.
   */
  private cheaplyChecked(
    hashed: readonly OAuthClientSecret[],
    expired: readonly OAuthClientSecret[],
  ): OAuthClientSecret[] {
    const groups = new Set(hashed.map((secret) => this.hasher.scryptGroupOf(secret.hash)));
    return expired.filter((secret) => {
      if (!this.hasher.isHash(secret.hash)) return false;
      const group = this.hasher.scryptGroupOf(secret.hash);
      return group === undefined || groups.has(group);
    });
  }

  /**
   * Records when a secret last authenticated its client, at most once per USE_RECORD_INTERVAL_MS per secret
   * and process, never awaited: a write per token would make the database the bottleneck of issuance, and a
   * failed write never fails an authentication.
   */
  private recordUse(clientId: string, secret: OAuthClientSecret): void {
    const now = Date.now();
    const key = `${clientId.length}:${clientId}:${secret.id}`;
    const last = Math.max(secret.lastUsedAt?.getTime() ?? 0, this.recorded.get(key) ?? 0);
    if (now - last < USE_RECORD_INTERVAL_MS) return;
    this.recorded.set(key, now);
    this.clients.touchSecret(clientId, secret.id, new Date(now)).catch((error: unknown) => {
      this.logger.warn(
        `Could not record a client secret's last use: ${describeStorageError(error)}`,
        {
          event: 'oauth2.client_auth.secret_use_not_recorded',
          clientId,
          secretId: secret.id,
        },
      );
    });
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
    requester: string,
  ): Promise<void> {
    const name = JSON.stringify(client.clientId);
    try {
      const hash = await this.verifier.derive(
        client.clientId,
        () => this.hasher.hash(secret, { legacyImport: true }),
        requester,
      );
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
          { event: 'oauth2.client_auth.secret_column_too_narrow', clientId: client.clientId },
        );
        return;
      }
      this.logger.log(`Client ${name}: plaintext secret replaced by a hash`, {
        event: 'oauth2.client_auth.plaintext_secret_hashed',
        clientId: client.clientId,
      });
    } catch (error) {
      this.logger.warn(
        `Could not upgrade a plaintext client secret: ${describeStorageError(error)}`,
        {
          event: 'oauth2.client_auth.plaintext_secret_not_hashed',
          clientId: client.clientId,
        },
      );
    }
  }

  /**
   * Rewrites a secret's hash under the current pepper, now that the secret is known: a generated secret's
   * digest, or a chosen one's scrypt hash (keeping its salt, so its client's secrets still share one).
   * Compare-and-set, never failing the request: a failed or lost write is retried at the next use.
   */
  private async upgradeToPepper(
    clientId: string,
    secret: OAuthClientSecret,
    presented: string,
    requester: string,
  ): Promise<void> {
    try {
      const next =
        this.hasher.kindOf(secret.hash) === 'hmac'
          ? this.hasher.digestGenerated(presented)
          : await this.verifier.derive(
              clientId,
              () => this.hasher.hash(presented, { sameSaltAs: secret.hash, legacyImport: true }),
              requester,
            );
      if (await this.clients.updateSecretHash(clientId, secret.id, secret.hash, next)) {
        this.logger.log(`Client ${JSON.stringify(clientId)}: a secret's hash now uses the pepper`, {
          event: 'oauth2.client_auth.secret_repeppered',
          clientId,
          secretId: secret.id,
        });
      }
    } catch (error) {
      this.logger.warn(
        `Could not rewrite a client secret's hash under the pepper: ${describeStorageError(error)}`,
        { event: 'oauth2.client_auth.secret_not_repeppered', clientId, secretId: secret.id },
      );
    }
  }

  /**
   * Says, once per client and process, that a stored secret is no hash this server verifies, and what to do.
   * It names the client, never the stored value.
   */
  private warnUnverifiable(clientId: string, kind: StoredSecretKind): void {
    if (this.warned.has(clientId)) return;
    this.warned.set(clientId, true);
    const what = kind === 'foreign' ? FOREIGN_HASH_ADVICE : PLAINTEXT_ADVICE;
    this.logger.warn(
      `Client ${JSON.stringify(clientId)}: a stored client secret ${what}. Until then that secret never ` +
        'authenticates (401 invalid_client).',
      { event: 'oauth2.client_auth.secret_unreadable', clientId },
    );
  }

  private async find(
    clientId: string,
  ): Promise<{ client: OAuthClient; secrets: OAuthClientSecret[] } | null> {
    // No stored client can have such an id (Appendix A.1, VARCHAR(80)): spare the database the query.
    if (clientId.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID_PATTERN.test(clientId)) return null;
    // A cached client needs no storage timer (a timer and a race per token request).
    const cached = this.clients.findCached(clientId);
    if (cached) return cached.client ? { client: cached.client, secrets: cached.secrets } : null;
    const [client, secrets] = await lookUpClient(
      Promise.all([this.clients.findById(clientId), this.clients.findSecrets(clientId)]),
      this.config.storageTimeoutMs,
      this.logger,
    );
    return client ? { client, secrets } : null;
  }
}

/**
 * Whether a client authenticates with its id alone (RFC 6749 §2.1 public client): its method says `none`, or
 * names none and it holds no secret at all, as the seed's public clients (client_secret null). A confidential
 * client whose secrets all expired or were revoked stays confidential.
 */
export function isPublicClient(
  client: OAuthClient,
  secrets: readonly OAuthClientSecret[],
): boolean {
  const method = client.tokenEndpointAuthMethod;
  return (
    method === 'none' || (method === null && client.clientSecret === null && secrets.length === 0)
  );
}

/** The client's secrets still accepted at `now`: `client_secret` (id `primary`) first, then the others. */
export function liveSecrets(
  client: OAuthClient,
  secrets: readonly OAuthClientSecret[],
  now: number,
): OAuthClientSecret[] {
  return secretsOf(client, secrets).filter((secret) => isLive(secret, now));
}

const isLive = (secret: OAuthClientSecret, now: number) =>
  secret.expiresAt === null || secret.expiresAt.getTime() > now;
