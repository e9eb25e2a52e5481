import { validate } from 'class-validator';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../index.js';
import { CliError } from './cli-error.js';

/** The grant this server issues tokens for, and the default of `client create --grant-types`. */
export const CLIENT_CREDENTIALS = 'client_credentials';

/** A client as the CLI shows it: every column but the secret's hash, names as on the wire. */
export interface ClientView {
  client_id: string;
  client_type: 'confidential' | 'public';
  /** null: the client may use every grant. */
  grant_types: string[] | null;
  scope: string | null;
  user_id: string | null;
  redirect_uri: string | null;
}

export interface CreateClientInput {
  clientId: string;
  /** A chosen secret, stored as its scrypt hash; null: a public client; absent: one is generated. */
  secret?: string | null;
  grantTypes?: string;
  scope?: string;
  userId?: string;
  redirectUri?: string;
}

/** The outcome of a command that set a secret: `secret` is set only when the CLI generated it. */
export interface SecretResult {
  client: ClientView;
  secret?: string;
  warnings: string[];
}

/** The outcome of `client hash-legacy-secrets`: counts only, never a secret or a hash. */
export interface LegacySecretsResult {
  /** Plaintext secrets replaced by their hash. */
  hashed: number;
  /** Plaintext secrets that changed between reading and writing them, and were left alone. */
  skipped: number;
}

/** Client management over any OAuthClientRepository; secrets are stored only as hashes. */
export class ClientCommands {
  constructor(
    private readonly repository: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
    /** How a message names what set a client property: the CLI names its option. */
    private readonly nameOf: (property: keyof OAuthClient) => string = (property) => property,
  ) {}

  async create(input: CreateClientInput): Promise<SecretResult> {
    if (input.secret === '') throw new CliError(`${this.nameOf('clientSecret')} must not be empty`);
    const client = OAuthClient.create({
      clientId: input.clientId,
      grantTypes: input.grantTypes ?? CLIENT_CREDENTIALS,
      scope: input.scope ?? null,
      userId: input.userId ?? null,
      redirectUri: input.redirectUri ?? null,
    });
    await this.validate(client);
    if (await this.repository.findById(client.clientId)) {
      throw new CliError(`client '${client.clientId}' already exists`);
    }

    // A generated secret (256 random bits) gets the fast keyed digest; a chosen one needs scrypt.
    let generated: string | undefined;
    if (input.secret === null) {
      client.clientSecret = null;
    } else if (input.secret !== undefined) {
      client.clientSecret = await this.hasher.hash(input.secret);
    } else {
      const created = this.hasher.createSecret();
      generated = created.secret;
      client.clientSecret = created.hash;
    }
    await this.repository.save(client);

    const warnings: string[] = [];
    if (!(client.grantTypes ?? '').split(' ').includes(CLIENT_CREDENTIALS)) {
      warnings.push(
        `the grant types do not include ${CLIENT_CREDENTIALS}, the only grant this server issues tokens for`,
      );
    }
    if (input.secret === null) {
      warnings.push(
        'a public client gets tokens only when the server sets allowPublicClients (RFC 6749 §4.4 reserves this grant for confidential clients)',
      );
    }
    return { client: viewOf(client), secret: generated, warnings };
  }

  async list(): Promise<ClientView[]> {
    return (await this.repository.list()).map(viewOf);
  }

  async show(clientId: string): Promise<ClientView> {
    return viewOf(await this.find(clientId));
  }

  async rotateSecret(clientId: string): Promise<SecretResult & { secret: string }> {
    const client = await this.find(clientId);
    if (client.clientSecret === null) {
      throw new CliError(`client '${clientId}' is a public client and has no secret to rotate`);
    }
    const { secret, hash } = this.hasher.createSecret();
    client.clientSecret = hash;
    await this.repository.save(client);
    return { client: viewOf(client), secret, warnings: [] };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.repository.delete(clientId))) throw unknownClient(clientId);
  }

  /**
   * One pass over the clients: every stored secret that is none of our hash formats is a legacy plaintext
   * secret (oauth2-server-php, yii2-oauth2-server) and is replaced by its scrypt hash, so the client keeps
   * its secret. Compare-and-set, as the server's own upgrade on login: a row that changed meanwhile is
   * skipped, never overwritten.
   */
  async hashLegacySecrets(): Promise<LegacySecretsResult> {
    const result: LegacySecretsResult = { hashed: 0, skipped: 0 };
    for (const { clientId, clientSecret } of await this.repository.list()) {
      if (clientSecret === null || this.hasher.kindOf(clientSecret) !== 'unknown') continue;
      const hash = await this.hasher.hash(clientSecret);
      if (await this.repository.updateSecret(clientId, clientSecret, hash)) result.hashed++;
      else result.skipped++;
    }
    return result;
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

function viewOf(client: OAuthClient): ClientView {
  return {
    client_id: client.clientId,
    client_type: client.clientSecret === null ? 'public' : 'confidential',
    grant_types: client.grantTypes === null ? null : client.grantTypes.split(/\s+/).filter(Boolean),
    scope: client.scope,
    user_id: client.userId,
    redirect_uri: client.redirectUri,
  };
}

function unknownClient(clientId: string): CliError {
  return new CliError(`no client with id '${clientId}'`);
}
