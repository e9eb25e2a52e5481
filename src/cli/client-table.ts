import type { Repository } from 'typeorm';
import type {
  ClientSecretHasher,
  OAuthClient,
  OAuthClientRepository,
  OAuthStoredClientSecret,
} from '../index.js';

/** A client's `client_secret` as stored. */
export interface StoredPrimarySecret {
  clientId: string;
  clientSecret: string;
}

/**
 * What the CLI reads of the stored secrets in bulk, a page at a time rather than every client at once: a
 * table of 10,000 legacy clients is walked, not loaded.
 */
export interface ClientTable {
  /** Up to `limit` clients with a `client_secret`, ordered by id, each id after `after` (all: undefined). */
  page(after: string | undefined, limit: number): Promise<StoredPrimarySecret[]>;
  /** How many `client_secret` values may be plaintext (an estimate for progress: none starts with `$`). */
  countPlaintext(): Promise<number>;
  /** Whether some stored hash, in `client_secret` or a secret row, was made under a pepper. */
  hasPepperedHash(): Promise<boolean>;
}

/**
 * Whether a stored value is one of our hashes made under a pepper: a digest keyed by pepper `k` (`k=0` is
 * none) or a scrypt hash naming its pepper.
 */
export function isPepperedHash(hasher: ClientSecretHasher, stored: string): boolean {
  switch (hasher.kindOf(stored)) {
    case 'hmac':
      return !stored.startsWith(`${HMAC_PREFIX}0$`);
    case 'scrypt':
      return stored.startsWith(SCRYPT_PEPPERED_PREFIX);
    default:
      return false;
  }
}

const HMAC_PREFIX = '$hmac-sha256$k=';
const SCRYPT_PEPPERED_PREFIX = '$scrypt$k=';

/** The client table through TypeORM: keyset pages by client_id, and the peppered-hash check in SQL. */
export function typeOrmClientTable(
  clients: Repository<OAuthClient>,
  secrets: Repository<OAuthStoredClientSecret>,
  hasher: ClientSecretHasher,
): ClientTable {
  return {
    async page(after, limit) {
      const query = clients
        .createQueryBuilder('client')
        .select(['client.clientId', 'client.clientSecret'])
        .where('client.clientSecret IS NOT NULL')
        .orderBy('client.clientId', 'ASC')
        .limit(limit);
      if (after !== undefined) query.andWhere('client.clientId > :after', { after });
      const rows = await query.getMany();
      return rows.map(({ clientId, clientSecret }) => ({ clientId, clientSecret: clientSecret! }));
    },
    countPlaintext: () =>
      clients
        .createQueryBuilder('client')
        .where('client.clientSecret IS NOT NULL')
        .andWhere('client.clientSecret NOT LIKE :hash', { hash: '$%' })
        .getCount(),
    async hasPepperedHash() {
      // LIKE narrows the rows (the prefixes hold no `_` or `%`); each candidate is then checked exactly.
      const candidates = async <T extends object>(repository: Repository<T>, column: string) => {
        const rows: { hash: string }[] = await repository
          .createQueryBuilder('row')
          .select(`row.${column}`, 'hash')
          .where(
            `(row.${column} LIKE :hmac AND row.${column} NOT LIKE :unpeppered) OR ` +
              `row.${column} LIKE :scrypt`,
            LIKE,
          )
          .limit(CANDIDATES)
          .getRawMany();
        return rows.map((row) => row.hash);
      };
      const found = [
        ...(await candidates(clients, 'clientSecret')),
        ...(await candidates(secrets, 'secretHash')),
      ];
      return found.some((stored) => isPepperedHash(hasher, stored));
    },
  };
}

/** LIKE may ignore case (MySQL): a few candidates are read, in case some are another scheme's. */
const CANDIDATES = 100;
const LIKE = {
  hmac: `${HMAC_PREFIX}%`,
  unpeppered: `${HMAC_PREFIX}0$%`,
  scrypt: `${SCRYPT_PEPPERED_PREFIX}%`,
};

/** Any repository (one given to runCli): read through `list()` and `findSecrets()`. */
export function repositoryClientTable(
  repository: OAuthClientRepository,
  hasher: ClientSecretHasher,
): ClientTable {
  const withSecret = async () =>
    (await repository.list()).filter(
      (client): client is OAuthClient & { clientSecret: string } => client.clientSecret !== null,
    );
  return {
    async page(after, limit) {
      return (await withSecret())
        .filter((client) => after === undefined || client.clientId > after)
        .slice(0, limit)
        .map(({ clientId, clientSecret }) => ({ clientId, clientSecret }));
    },
    async countPlaintext() {
      return (await withSecret()).filter((c) => hasher.kindOf(c.clientSecret) === 'unknown').length;
    },
    async hasPepperedHash() {
      for (const client of await repository.list()) {
        const hashes = [
          ...(client.clientSecret === null ? [] : [client.clientSecret]),
          ...(await repository.findSecrets(client.clientId)).map((secret) => secret.hash),
        ];
        if (hashes.some((stored) => isPepperedHash(hasher, stored))) return true;
      }
      return false;
    },
  };
}
