import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import type { EntityManager, Repository } from 'typeorm';
import {
  KeyEncryptor,
  parseKeyEncryptionKey,
  type KeyEncryptionKeyNames,
} from './key-encryption.js';
import {
  afterTransitions,
  planActivation,
  planRetirement,
  prunableKeys,
  STORED_KEY_ALGORITHMS,
  type KeyTransition,
  type OAuth2StoredKeyAlgorithm,
  type OAuthKeyInfo,
} from './key-lifecycle.js';
import { OAuth2KeyStore, type KeyActivationOptions } from './key-store.js';
import { OAuth2KeyStoreError } from './key-store-error.js';
import { OAuthStoredKey } from './oauth-stored-key.entity.js';
import {
  generatePrivateKey,
  jwkThumbprint,
  resolveSigningKey,
  type SigningKey,
} from './signing-keys.js';

export interface TypeOrmOAuth2KeyStoreOptions {
  /** Seals new keys and opens keys it sealed: 32+ bytes, or 64+ hex characters or base64. */
  keyEncryptionKey: string | Buffer;
  /** Former key encryption keys: keys they sealed still open. @default none */
  previousKeyEncryptionKeys?: ReadonlyArray<string | Buffer>;
  /** How messages name the two settings. @default the module's option names */
  keyEncryptionKeyNames?: KeyEncryptionKeyNames;
}

const DEFAULT_NAMES: KeyEncryptionKeyNames = {
  current: 'keyEncryptionKey',
  previous: 'previousKeyEncryptionKeys',
};

/**
 * The key store in a TypeORM table (`oauth_signing_keys`, made by `oauth2Migrations()`). Private keys are
 * sealed with AES-256-GCM under the key encryption key. Every change runs in one SERIALIZABLE transaction and
 * writes compare-and-set on the state it read, so two concurrent activations cannot leave two keys active:
 * one of them fails and changes nothing.
 */
export class TypeOrmOAuth2KeyStore extends OAuth2KeyStore {
  private readonly encryptor: KeyEncryptor;

  constructor(
    private readonly repository: Repository<OAuthStoredKey>,
    options: TypeOrmOAuth2KeyStoreOptions,
  ) {
    super();
    const names = options.keyEncryptionKeyNames ?? DEFAULT_NAMES;
    this.encryptor = new KeyEncryptor(
      parseKeyEncryptionKey(options.keyEncryptionKey, names.current),
      (options.previousKeyEncryptionKeys ?? []).map((key) =>
        parseKeyEncryptionKey(key, `each of ${names.previous}`),
      ),
      names,
    );
  }

  async list(): Promise<OAuthKeyInfo[]> {
    return (await this.rows(this.repository)).map(infoOf);
  }

  async load(): Promise<SigningKey[]> {
    return (await this.rows(this.repository)).map((row) => this.open(row));
  }

  async generate(
    algorithm: OAuth2StoredKeyAlgorithm,
    { activate = false, now = new Date() }: { activate?: boolean; now?: Date } = {},
  ): Promise<OAuthKeyInfo> {
    if (!(STORED_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new OAuth2KeyStoreError(
        'refused_transition',
        `the key store generates ${STORED_KEY_ALGORITHMS.join(', ')} keys, not ${String(algorithm)}`,
      );
    }
    const privateKey = await generatePrivateKey(algorithm);
    const publicKey = createPublicKey(privateKey);
    const kid = jwkThumbprint(publicKey);
    const row = this.repository.create({
      kid,
      algorithm,
      state: 'next',
      sealedPrivateKey: this.encryptor.seal(
        kid,
        privateKey.export({ format: 'der', type: 'pkcs8' }),
      ),
      publicJwk: JSON.stringify(publicKey.export({ format: 'jwk' })),
      createdAt: now,
      activatedAt: null,
      retiredAt: null,
    });
    return this.change(async (repository, keys) => {
      await repository.insert(row);
      const created = infoOf(row);
      if (!activate) return [created];
      return this.apply(
        repository,
        [...keys, created],
        planActivation([...keys, created], kid, { minNextAge: 0, force: true, now }),
      );
    }).then((changed) => changed.find((key) => key.kid === kid)!);
  }

  async activate(kid: string, options: KeyActivationOptions): Promise<OAuthKeyInfo[]> {
    const now = options.now ?? new Date();
    return this.change(async (repository, keys, rows) => {
      const transitions = planActivation(keys, kid, { ...options, now });
      // A key the servers could not open would stop them signing at their next refresh: check it first.
      const row = rows.find((candidate) => candidate.kid === kid);
      if (transitions.length > 0 && row) this.open(row);
      return this.apply(repository, keys, transitions);
    });
  }

  async retire(kid: string, { now = new Date() }: { now?: Date } = {}): Promise<OAuthKeyInfo> {
    const changed = await this.change((repository, keys) =>
      this.apply(repository, keys, planRetirement(keys, kid, now)),
    );
    return changed[0] ?? (await this.list()).find((key) => key.kid === kid)!;
  }

  async prune(longestLifetime: number, now: Date = new Date()): Promise<OAuthKeyInfo[]> {
    return this.change(async (repository, keys) => {
      const removed = prunableKeys(keys, longestLifetime, now);
      for (const key of removed) {
        const result = await repository.delete({ kid: key.kid, state: 'retired' });
        if ((result.affected ?? 1) !== 1) throw concurrentChange(key.kid);
      }
      return removed;
    });
  }

  /** Runs a change on the keys as read inside one SERIALIZABLE transaction. */
  private change(
    work: (
      repository: Repository<OAuthStoredKey>,
      keys: OAuthKeyInfo[],
      rows: OAuthStoredKey[],
    ) => Promise<OAuthKeyInfo[]>,
  ): Promise<OAuthKeyInfo[]> {
    return this.repository.manager.transaction('SERIALIZABLE', async (manager: EntityManager) => {
      const repository = manager.getRepository<OAuthStoredKey>(this.repository.target);
      const rows = await this.rows(repository);
      return work(repository, rows.map(infoOf), rows);
    });
  }

  /** Writes each transition compare-and-set on the state it was planned from; returns the changed keys. */
  private async apply(
    repository: Repository<OAuthStoredKey>,
    keys: readonly OAuthKeyInfo[],
    transitions: readonly KeyTransition[],
  ): Promise<OAuthKeyInfo[]> {
    for (const { kid, from, to, at } of transitions) {
      const result = await repository.update(
        { kid, state: from },
        { state: to, ...(to === 'active' ? { activatedAt: at } : { retiredAt: at }) },
      );
      if ((result.affected ?? 1) !== 1) throw concurrentChange(kid);
    }
    return keys
      .filter((key) => transitions.some((t) => t.kid === key.kid))
      .map((key) => afterTransitions(key, transitions));
  }

  private rows(repository: Repository<OAuthStoredKey>): Promise<OAuthStoredKey[]> {
    return repository.find({ order: { createdAt: 'ASC', kid: 'ASC' } });
  }

  /** The row's key, opened and checked: the algorithm's key type and the stored public key must match. */
  private open(row: OAuthStoredKey): SigningKey {
    const der = this.encryptor.open(row.kid, row.sealedPrivateKey);
    try {
      return resolveSigningKey({
        algorithm: row.algorithm,
        privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
        publicKey: createPublicKey({ key: JSON.parse(row.publicJwk) as JsonWebKey, format: 'jwk' }),
        keyId: row.kid,
        state: row.state,
      });
    } catch (error) {
      throw new OAuth2KeyStoreError(
        'key_not_opened',
        `signing key "${row.kid}" is unusable: ${(error as Error).message.replace(/^OAuth2Module: /, '')}`,
      );
    } finally {
      der.fill(0);
    }
  }
}

function infoOf(row: OAuthStoredKey): OAuthKeyInfo {
  return {
    kid: row.kid,
    algorithm: row.algorithm,
    state: row.state,
    createdAt: row.createdAt,
    activatedAt: row.activatedAt,
    retiredAt: row.retiredAt,
  };
}

function concurrentChange(kid: string): OAuth2KeyStoreError {
  return new OAuth2KeyStoreError(
    'concurrent_change',
    `signing key "${kid}" was changed by another writer meanwhile: nothing was written; try again`,
  );
}
