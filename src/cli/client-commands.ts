import { validate } from 'class-validator';
import { randomBytes } from 'node:crypto';
import {
  ClientSecretHasher,
  OAuthClient,
  OAuthClientRepository,
  OAuthSubjectConflictError,
  PRIMARY_SECRET_ID,
  type OAuthClientAuthMethod,
  type OAuthClientSecret,
} from '../index.js';
import { secretsOf as allSecretsOf } from '../clients/oauth-client.entity.js';
import { CliError } from './cli-error.js';
import { isPepperedHash, repositoryClientTable, type ClientTable } from './client-table.js';
import {
  hashLegacySecrets,
  type LegacySecretsOptions,
  type LegacySecretsResult,
} from './legacy-secrets.js';

/** The grant this server issues tokens for, and the default of `client create --grant-types`. */
export const CLIENT_CREDENTIALS = 'client_credentials';

/** A client as the CLI shows it: every setting, never a secret's hash nor key material; names as on the wire. */
export interface ClientView {
  client_id: string;
  client_type: 'confidential' | 'public';
  /** RFC 7591 §2; null: either secret method (or none for a client without a secret), as the seed's. */
  token_endpoint_auth_method: OAuthClientAuthMethod | null;
  /** null: the client may use every grant. */
  grant_types: string[] | null;
  scope: string | null;
  user_id: string | null;
  redirect_uri: string | null;
  /** Seconds; null: the server's. */
  access_token_lifetime: number | null;
  /** The audiences it may ask for, the default first; null: the server's audience. */
  audience: string[] | null;
  jwks_uri: string | null;
  /** Whether an inline JWK Set is stored (its keys are not shown). */
  jwks_inline: boolean;
  disabled: boolean;
}

/**
 * What `client create` and `client update` set. Absent: the default (create) or unchanged (update); null:
 * cleared.
 */
export interface ClientSettings {
  grantTypes?: string;
  scope?: string | null;
  userId?: string | null;
  redirectUri?: string | null;
  authMethod?: OAuthClientAuthMethod;
  accessTokenLifetime?: number | null;
  audience?: string | null;
  /** A checked JWK Set of public keys, as compact JSON; replaces `jwksUri`. */
  jwks?: string;
  /** Replaces `jwks`. */
  jwksUri?: string | null;
}

export interface CreateClientInput extends ClientSettings {
  clientId: string;
  /** A chosen secret, stored as its scrypt hash; null: a public client; absent: one is generated. */
  secret?: string | null;
}

/** The outcome of a command that may have set a secret: `secret` is set only when the CLI generated it. */
export interface SecretResult {
  client: ClientView;
  secret?: string;
  warnings: string[];
}

/** A secret of a client as `client secret list` shows it: never its hash. */
export interface SecretView {
  id: string;
  createdAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** The outcome of `client secret add`: the secret itself only when the CLI generated it. */
export interface AddedSecret {
  clientId: string;
  secretId: string;
  secret: string | null;
  expiresAt: string | null;
}

/** The outcome of `client rotate-secret`: the new secret, and the others with the time they stop. */
export interface RotatedSecret extends AddedSecret {
  secret: string;
  expiring: { id: string; expiresAt: string }[];
}

export interface RevokedSecret {
  clientId: string;
  secretId: string;
  /** How many unexpired secrets the client has left. */
  remaining: number;
}

const PEPPER_MISSING =
  'the client table holds secrets hashed with a pepper: the servers use OAUTH2_SECRET_PEPPER, and the ' +
  'CLI needs the same OAUTH2_SECRET_PEPPER to write a secret (nothing was written)';

const PUBLIC_CLIENT_WARNING =
  'a public client gets tokens only when the server sets allowPublicClients (RFC 6749 §4.4 reserves this grant for confidential clients)';

/** Client management over any OAuthClientRepository; secrets are stored only as hashes. */
export class ClientCommands {
  constructor(
    private readonly repository: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
    /** How a message names what set a client property: the CLI names its option. */
    private readonly nameOf: (property: keyof OAuthClient) => string = (property) => property,
    /** Bulk reads of the stored secrets. @default through the repository's `list()` */
    private readonly table: ClientTable = repositoryClientTable(repository, hasher),
  ) {}

  private pepperChecked?: Promise<void>;

  /**
   * Before any secret is written: without a pepper, refused when the table holds hashes made under one. The
   * servers would accept an unpeppered digest, but a stolen table could then confirm guesses of it.
   */
  private checkPepper(): Promise<void> {
    return (this.pepperChecked ??= (async () => {
      // Our own digest tells whether this hasher holds a pepper.
      if (isPepperedHash(this.hasher, this.hasher.digestGenerated(''))) return;
      if (await this.table.hasPepperedHash()) throw new CliError(PEPPER_MISSING);
    })());
  }

  async create(input: CreateClientInput): Promise<SecretResult> {
    if (input.secret === '') throw new CliError(`${this.nameOf('clientSecret')} must not be empty`);
    const method = input.authMethod ?? null;
    if (input.secret === null && method !== null && method !== 'none') {
      throw new CliError(`a public client (--public) cannot use ${method}`);
    }
    if (typeof input.secret === 'string' && (method === 'none' || method === 'private_key_jwt')) {
      throw new CliError(`a client that uses ${method} has no secret`);
    }
    const client = OAuthClient.create({ clientId: input.clientId, grantTypes: CLIENT_CREDENTIALS });
    this.apply(client, input);
    await this.validate(client);
    if (await this.repository.findById(client.clientId)) {
      throw new CliError(`client '${client.clientId}' already exists`);
    }

    // A generated secret (256 random bits) gets the fast keyed digest; a chosen one needs scrypt.
    let generated: string | undefined;
    if (input.secret === null || !hasSecrets(method)) {
      client.clientSecret = null;
    } else {
      await this.checkPepper();
      if (input.secret !== undefined) {
        client.clientSecret = await this.hasher.hash(input.secret);
      } else {
        const created = this.hasher.createSecret();
        generated = created.secret;
        client.clientSecret = created.hash;
      }
    }
    await this.save(client);

    const warnings = grantWarnings(client);
    if (client.clientSecret === null && method !== 'private_key_jwt') {
      warnings.push(PUBLIC_CLIENT_WARNING);
    }
    return { client: viewOf(client), secret: generated, warnings };
  }

  /**
   * Changes the given settings only. A new method without secrets (`none`, `private_key_jwt`) removes the
   * client's secrets; a secret method on a client without one generates one, printed once.
   */
  async update(clientId: string, settings: ClientSettings): Promise<SecretResult> {
    const client = await this.find(clientId);
    const before = client.tokenEndpointAuthMethod;
    this.apply(client, settings);
    await this.validate(client);
    const secrets = await this.secretsOf(client);
    const warnings: string[] = [];
    let generated: string | undefined;
    let removed: OAuthClientSecret[] = [];
    const method = client.tokenEndpointAuthMethod;
    if (!hasSecrets(method) && secrets.length > 0) {
      removed = secrets;
      client.clientSecret = null;
      client.clientSecretExpiresAt = null;
      warnings.push(
        `${method} takes no secret: the client's ${secrets.length} secret(s) were removed`,
      );
    } else if (settings.authMethod !== undefined && hasSecrets(method) && secrets.length === 0) {
      await this.checkPepper();
      const created = this.hasher.createSecret();
      generated = created.secret;
      client.clientSecret = created.hash;
      client.clientSecretExpiresAt = null;
    }
    await this.save(client);
    for (const secret of removed) {
      if (secret.id !== PRIMARY_SECRET_ID) await this.repository.removeSecret(clientId, secret.id);
    }
    if (method === 'none' && before !== 'none') warnings.push(PUBLIC_CLIENT_WARNING);
    if (settings.grantTypes !== undefined) warnings.push(...grantWarnings(client));
    return { client: viewOf(client), secret: generated, warnings };
  }

  /** Disables (401 invalid_client) or enables a client. */
  async setDisabled(clientId: string, disabled: boolean): Promise<ClientView> {
    const client = await this.find(clientId);
    client.disabled = disabled;
    await this.save(client);
    return viewOf(client);
  }

  async list(): Promise<ClientView[]> {
    return (await this.repository.list()).map(viewOf);
  }

  async show(clientId: string): Promise<ClientView> {
    return viewOf(await this.find(clientId));
  }

  /** The access token lifetimes the clients set (null: the server's). */
  async tokenLifetimes(): Promise<(number | null)[]> {
    return (await this.repository.list()).map((client) => client.accessTokenLifetime);
  }

  /** Adds a secret, generated unless `secret` is given (see `newSecret`). */
  async addSecret(
    clientId: string,
    { secret, expiresIn }: { secret?: string; expiresIn?: number },
  ): Promise<AddedSecret> {
    const { stored, added } = await this.newSecret(clientId, { secret, expiresIn });
    await this.repository.addSecret(clientId, stored);
    return added;
  }

  /**
   * A new secret of the client, not yet stored: generated unless `secret` is given, expiring `expiresIn`
   * seconds from now or never. A chosen secret takes the salt of the client's unexpired scrypt hash, if it
   * has one, so that checking a request's secret against all of them stays one KDF derivation
   * (ClientSecretHasher `sameSaltAs`).
   */
  private async newSecret(
    clientId: string,
    { secret, expiresIn }: { secret?: string; expiresIn?: number },
  ): Promise<{ stored: OAuthClientSecret; added: AddedSecret }> {
    if (secret === '') throw new CliError('the secret must not be empty');
    const client = await this.find(clientId);
    const secrets = await this.secretsOf(client);
    refuseSecretless(client, secrets);
    await this.checkPepper();
    const now = new Date();
    const expiresAt = expiresIn === undefined ? null : new Date(now.getTime() + expiresIn * 1000);
    let hash: string;
    if (secret === undefined) {
      const created = this.hasher.createSecret();
      secret = created.secret;
      hash = created.hash;
    } else {
      const sameSaltAs = secrets.find(
        (s) => unexpired(s, now) && this.hasher.kindOf(s.hash) === 'scrypt',
      )?.hash;
      hash = await this.hasher.hash(secret, { sameSaltAs });
      secret = undefined;
    }
    const id = newSecretId();
    return {
      stored: { id, hash, createdAt: now, expiresAt, lastUsedAt: null },
      added: { clientId, secretId: id, secret: secret ?? null, expiresAt: iso(expiresAt) },
    };
  }

  /** The seed column's secret (id `primary`) when set, then the others, oldest first. */
  async listSecrets(clientId: string): Promise<SecretView[]> {
    const secrets = await this.secretsOf(await this.find(clientId));
    return secrets.map((secret) => ({
      id: secret.id,
      createdAt: iso(secret.createdAt),
      expiresAt: iso(secret.expiresAt),
      lastUsedAt: iso(secret.lastUsedAt),
    }));
  }

  /**
   * Revokes one secret: a row is deleted; `primary` is expired now (emptying `client_secret` would make the
   * client public).
   */
  async revokeSecret(clientId: string, secretId: string): Promise<RevokedSecret> {
    const client = await this.find(clientId);
    const secrets = await this.secretsOf(client);
    if (!secrets.some((secret) => secret.id === secretId)) {
      throw new CliError(`client '${clientId}' has no secret '${secretId}'`);
    }
    const now = new Date();
    if (secretId === PRIMARY_SECRET_ID) {
      await this.repository.expireSecrets(clientId, [PRIMARY_SECRET_ID], now);
    } else if (!(await this.repository.removeSecret(clientId, secretId))) {
      throw new CliError(`client '${clientId}' has no secret '${secretId}'`);
    }
    const left = await this.secretsOf(await this.find(clientId));
    return { clientId, secretId, remaining: left.filter((s) => unexpired(s, now)).length };
  }

  /**
   * Adds a generated secret, then sets every other secret to expire `keepOldFor` seconds from now (now
   * without it): the overlap in which clients still holding an old secret switch to the new one. Added
   * before the others are expired, so that the client has a valid secret throughout; an expiry is never
   * extended (a secret that stops sooner keeps its time).
   */
  async rotateSecret(clientId: string, keepOldFor = 0): Promise<RotatedSecret> {
    const before = await this.secretsOf(await this.find(clientId));
    const { stored, added } = await this.newSecret(clientId, {});
    const now = new Date();
    const others = before.filter((secret) => unexpired(secret, now)).map((secret) => secret.id);
    await this.repository.rotateSecret(
      clientId,
      stored,
      new Date(now.getTime() + keepOldFor * 1000),
    );
    const after = await this.secretsOf(await this.find(clientId));
    const expiring = after
      .filter((secret) => others.includes(secret.id))
      .map((secret) => ({ id: secret.id, expiresAt: iso(secret.expiresAt)! }));
    return { ...added, secret: added.secret!, expiring };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.repository.delete(clientId))) throw unknownClient(clientId);
  }

  /** Replaces every plaintext `client_secret` by its scrypt hash (see `hashLegacySecrets`). */
  async hashLegacySecrets(options: LegacySecretsOptions): Promise<LegacySecretsResult> {
    await this.checkPepper();
    return hashLegacySecrets(this.table, this.repository, this.hasher, options);
  }

  /** Sets what `settings` gives; a JWK Set replaces a jwks_uri and the other way round (RFC 7591 §2). */
  private apply(client: OAuthClient, settings: ClientSettings): void {
    const set = <K extends keyof OAuthClient>(key: K, value: OAuthClient[K] | undefined) => {
      if (value !== undefined) client[key] = value;
    };
    set('grantTypes', settings.grantTypes);
    set('scope', settings.scope);
    set('userId', settings.userId);
    set('redirectUri', settings.redirectUri);
    set('tokenEndpointAuthMethod', settings.authMethod);
    set('accessTokenLifetime', settings.accessTokenLifetime);
    set('audience', settings.audience);
    if (settings.jwks !== undefined) [client.jwks, client.jwksUri] = [settings.jwks, null];
    if (settings.jwksUri !== undefined) [client.jwks, client.jwksUri] = [null, settings.jwksUri];

    const keysGiven = settings.jwks !== undefined || typeof settings.jwksUri === 'string';
    if (client.tokenEndpointAuthMethod === 'private_key_jwt') {
      if (client.jwks === null && client.jwksUri === null) {
        throw new CliError(
          "private_key_jwt needs the client's public keys: --jwks-file or --jwks-uri",
        );
      }
    } else if (keysGiven) {
      throw new CliError('--jwks-file and --jwks-uri are for --auth-method private_key_jwt');
    } else if (settings.authMethod !== undefined) {
      // Keys a client no longer authenticates with are not kept.
      [client.jwks, client.jwksUri] = [null, null];
    }
  }

  /** Writes the client; a `user_id` that would give two clients one `sub` is refused by the repository. */
  private async save(client: OAuthClient): Promise<void> {
    try {
      await this.repository.save(client);
    } catch (error) {
      if (error instanceof OAuthSubjectConflictError) throw new CliError(error.message);
      throw error;
    }
  }

  /** The seed column's secret (`primary`) when set, then the client's other secrets. */
  private async secretsOf(client: OAuthClient): Promise<OAuthClientSecret[]> {
    return allSecretsOf(client, await this.repository.findSecrets(client.clientId));
  }

  /** Runs the entity's class-validator rules; every broken rule is named, on one line. */
  private async validate(client: OAuthClient): Promise<void> {
    const errors = await validate(client);
    if (errors.length === 0) return;
    const problems = errors.map((error) => {
      const messages = Object.values(error.constraints ?? {});
      const name = this.nameOf(error.property as keyof OAuthClient);
      return `${name}: ${messages.join(', ') || 'invalid value'}`;
    });
    throw new CliError(`invalid client: ${problems.join('; ')}`);
  }

  private async find(clientId: string): Promise<OAuthClient> {
    const client = await this.repository.findById(clientId);
    if (!client) throw unknownClient(clientId);
    return client;
  }
}

/** Whether a client of this method authenticates with a secret (null: either secret method, as the seed). */
function hasSecrets(method: OAuthClientAuthMethod | null): boolean {
  return method !== 'none' && method !== 'private_key_jwt';
}

/** A public client or a private_key_jwt one has no secret to add or rotate. */
function refuseSecretless(client: OAuthClient, secrets: readonly OAuthClientSecret[]): void {
  const method = client.tokenEndpointAuthMethod;
  if (method === 'private_key_jwt') {
    throw new CliError(
      `client '${client.clientId}' authenticates with private_key_jwt: its keys, not a secret`,
    );
  }
  if (method === 'none' || secrets.length === 0) {
    throw new CliError(`client '${client.clientId}' is a public client and has no secret`);
  }
}

function grantWarnings(client: OAuthClient): string[] {
  return (client.grantTypes ?? CLIENT_CREDENTIALS).split(' ').includes(CLIENT_CREDENTIALS)
    ? []
    : [
        `the grant types do not include ${CLIENT_CREDENTIALS}, the only grant this server issues tokens for`,
      ];
}

/** 128 random bits, hex: URL-safe, never `primary`, and never starting with '-' on a command line. */
function newSecretId(): string {
  return randomBytes(16).toString('hex');
}

function unexpired(secret: OAuthClientSecret, now: Date): boolean {
  return secret.expiresAt === null || secret.expiresAt > now;
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

function viewOf(client: OAuthClient): ClientView {
  const list = (value: string | null) =>
    value === null ? null : value.split(/\s+/).filter(Boolean);
  const method = client.tokenEndpointAuthMethod;
  return {
    client_id: client.clientId,
    client_type:
      method === 'none' || (client.clientSecret === null && method !== 'private_key_jwt')
        ? 'public'
        : 'confidential',
    token_endpoint_auth_method: method,
    grant_types: list(client.grantTypes),
    scope: client.scope,
    user_id: client.userId,
    redirect_uri: client.redirectUri,
    access_token_lifetime: client.accessTokenLifetime,
    audience: list(client.audience),
    jwks_uri: client.jwksUri,
    jwks_inline: client.jwks !== null,
    disabled: client.disabled,
  };
}

function unknownClient(clientId: string): CliError {
  return new CliError(`no client with id '${clientId}'`);
}
