import type { DataSource } from 'typeorm';
import {
  DEFAULT_CLIENT_TABLE,
  OAuth2KeyStoreError,
  STORED_KEY_ALGORITHMS,
  type OAuth2KeyStore,
  type OAuth2StoredKeyAlgorithm,
  type OAuthKeyInfo,
} from '../index.js';
import type {
  CommandSyntax,
  CommandTable,
  OptionSpec,
  OptionValues,
  PositionalSpec,
  PositionalValues,
} from './cli-args.js';
import { CliError } from './cli-error.js';
import {
  CLIENT_CREDENTIALS,
  type ClientCommands,
  type ClientView,
  type SecretResult,
} from './client-commands.js';
import { DEFAULT_DATABASE_URL } from './database-url.js';
import { applyMigrations, pendingMigrations } from './database.js';
import type { KeyTimings } from './env-settings.js';

/** What a command's `run` is given; the database is opened only when asked for, and closed by the runner. */
export interface CommandContext<
  O extends readonly OptionSpec[] = readonly OptionSpec[],
  P extends readonly PositionalSpec[] = readonly PositionalSpec[],
> {
  options: OptionValues<O>;
  positionals: PositionalValues<P>;
  /** The database DATABASE_URL names. */
  database(): Promise<DataSource>;
  /** The client table; `hashesSecrets` refuses a client_secret column too narrow for a hash. */
  clients(use?: { hashesSecrets?: boolean }): Promise<ClientCommands>;
  /** The signing key table, sealed and opened with OAUTH2_KEY_ENCRYPTION_KEY. */
  keys(): Promise<OAuth2KeyStore>;
  /** OAUTH2_JWKS_MAX_AGE, OAUTH2_KEY_REFRESH_INTERVAL and OAUTH2_ACCESS_TOKEN_LIFETIME, or the server's defaults. */
  keyTimings(): KeyTimings;
}

/** One row of the table: the command's syntax, what it does and how its result is shown. */
export interface Command<
  O extends readonly OptionSpec[] = readonly OptionSpec[],
  P extends readonly PositionalSpec[] = readonly PositionalSpec[],
  R = unknown,
> extends CommandSyntax {
  readonly options: O;
  readonly positionals: P;
  run(context: CommandContext<O, P>): Promise<R>;
  /** The result for people, as lines on stdout. */
  text(result: R): string[];
  /** The result with --json. @default the result itself */
  json?(result: R): unknown;
  /** Lines for stderr, with --json or without. */
  warnings?(result: R): readonly string[];
}

/** Types one row: `run` sees its own options and positionals, `text` its own result. None: `[]`. */
function command<
  const O extends readonly OptionSpec[] = readonly [],
  const P extends readonly PositionalSpec[] = readonly [],
  R = unknown,
>(
  spec: Omit<Command<O, P, R>, 'options' | 'positionals'> & { options?: O; positionals?: P },
): Command {
  return { ...spec, options: spec.options ?? [], positionals: spec.positionals ?? [] };
}

const CLIENT_ID = { name: 'id', description: 'a client id' } as const;
const STORE_IT_NOW = 'Store it now: it cannot be shown again.';

const migrate = command({
  words: ['migrate'],
  options: [{ name: 'show', description: 'List the pending migrations, applying nothing.' }],
  description:
    "Create or update the client and signing key tables: apply the module's pending migrations. Run " +
    'it once before the client and key commands, and after an upgrade of the library.',
  run: async ({ options, database }) =>
    options.show
      ? { pending: await pendingMigrations(await database()) }
      : { applied: await applyMigrations(await database()) },
  text: (result) => {
    if (result.pending !== undefined) {
      return result.pending.length === 0
        ? ['The database is up to date: no pending migrations.']
        : ['Pending (run `nest-oauth2 migrate`):', ...result.pending.map((name) => `  ${name}`)];
    }
    return result.applied.length === 0
      ? ['The database is up to date.']
      : result.applied.map((name) => `Applied ${name}`);
  },
});

const clientCreate = command({
  words: ['client', 'create'],
  options: [
    { name: 'id', value: 'id', required: true, field: 'clientId', description: 'The client id.' },
    {
      name: 'secret',
      value: 'secret',
      conflicts: 'public',
      field: 'clientSecret',
      description: 'A secret of your choosing, stored as a scrypt hash and never printed.',
    },
    { name: 'public', description: 'A public client: no secret.' },
    {
      name: 'grant-types',
      value: 'list',
      field: 'grantTypes',
      description: `The grants it may use, space-separated. Default: ${CLIENT_CREDENTIALS}`,
    },
    {
      name: 'scope',
      value: 'list',
      field: 'scope',
      description: 'The scopes it may be granted, space-separated. Default: none',
    },
    {
      name: 'user-id',
      value: 'id',
      field: 'userId',
      description: "The user it acts for: the tokens' sub. Default: the client id",
    },
    {
      name: 'redirect-uri',
      value: 'uri',
      field: 'redirectUri',
      description: 'Kept for redirect-based grants; this server uses none.',
    },
  ],
  description:
    'Register a client. Without --secret or --public a secret is generated and printed once.',
  run: async ({ options: o, clients }) =>
    (await clients()).create({
      clientId: o.id,
      secret: o.public ? null : o.secret,
      grantTypes: o['grant-types'],
      scope: o.scope,
      userId: o['user-id'],
      redirectUri: o['redirect-uri'],
    }),
  text: ({ client, secret }) => [
    `Created ${client.client_type} client '${client.client_id}'.`,
    ...describe(client),
    ...secretLines(secret),
  ],
  json: withSecret,
  warnings: (result) => result.warnings,
});

const clientList = command({
  words: ['client', 'list'],
  description: 'List the clients.',
  run: async ({ clients }) => (await clients()).list(),
  text: (clients) =>
    clients.length === 0
      ? ['No clients.']
      : columns([
          ['CLIENT ID', 'TYPE', 'GRANT TYPES', 'SCOPE', 'USER ID'],
          ...clients.map((client) => [
            client.client_id,
            client.client_type,
            grantTypesText(client),
            client.scope ?? '-',
            client.user_id ?? '-',
          ]),
        ]),
});

const clientShow = command({
  words: ['client', 'show'],
  positionals: [CLIENT_ID],
  description: 'Show one client.',
  run: async ({ positionals, clients }) => (await clients()).show(positionals.id),
  text: describe,
});

const clientRotateSecret = command({
  words: ['client', 'rotate-secret'],
  positionals: [CLIENT_ID],
  description: 'Give a confidential client a new generated secret, printed once.',
  run: async ({ positionals, clients }) => (await clients()).rotateSecret(positionals.id),
  text: ({ client, secret }) => [
    `Replaced the secret of client '${client.client_id}'.`,
    ...secretLines(secret),
  ],
  json: withSecret,
});

const clientDelete = command({
  words: ['client', 'delete'],
  positionals: [CLIENT_ID],
  description: 'Delete a client.',
  run: async ({ positionals: { id }, clients }) => {
    await (await clients()).delete(id);
    return { client_id: id, deleted: true };
  },
  text: ({ client_id }) => [`Deleted client '${client_id}'.`],
});

const clientHashLegacySecrets = command({
  words: ['client', 'hash-legacy-secrets'],
  description:
    'Replace every plaintext secret (as oauth2-server-php and yii2-oauth2-server stored them) by its ' +
    'scrypt hash; the clients keep their secrets. Prints how many it hashed.',
  run: async ({ clients }) => (await clients({ hashesSecrets: true })).hashLegacySecrets(),
  text: ({ hashed }) => [
    hashed === 1
      ? 'Hashed 1 plaintext client secret.'
      : `Hashed ${hashed} plaintext client secrets.`,
  ],
  warnings: ({ skipped }) =>
    skipped === 0
      ? []
      : [
          `${skipped} secret(s) changed while this ran (a server upgrading them, say) and were left as they are; run the command again to check`,
        ],
});

const KID = { name: 'kid', description: 'a key id (kid)' } as const;
const DEFAULT_KEY_ALGORITHM: OAuth2StoredKeyAlgorithm = 'RS256';

/** A signing key as the CLI shows it: its state and timestamps, never key material. */
export interface KeyView {
  kid: string;
  alg: OAuth2StoredKeyAlgorithm;
  state: OAuthKeyInfo['state'];
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
}

const keysList = command({
  words: ['keys', 'list'],
  description: 'List the signing keys with their state and timestamps (never key material).',
  run: async ({ keys }) => (await (await keys()).list()).map(keyView),
  text: (views) =>
    views.length === 0
      ? ['No signing keys.']
      : columns([
          ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED'],
          ...views.map((key) => [
            key.kid,
            key.alg,
            key.state,
            key.createdAt,
            key.activatedAt ?? '-',
            key.retiredAt ?? '-',
          ]),
        ]),
});

const keysGenerate = command({
  words: ['keys', 'generate'],
  options: [
    {
      name: 'alg',
      value: 'alg',
      description: `${STORED_KEY_ALGORITHMS.join(', ')}. Default: ${DEFAULT_KEY_ALGORITHM}`,
    },
    {
      name: 'activate',
      description:
        'Make it active at once, retiring the active key: for a first key, or a compromised one (resource ' +
        'servers holding an older JWKS refuse its tokens until they refetch it).',
    },
  ],
  description:
    'Generate a key pair, sealed with OAUTH2_KEY_ENCRYPTION_KEY, as a next key: every server publishes it ' +
    'in its JWKS; activate it once resource servers know it.',
  run: async ({ options, keys, keyTimings }) => {
    const algorithm = options.alg ?? DEFAULT_KEY_ALGORITHM;
    if (!(STORED_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw CliError.usage(`--alg must be one of ${STORED_KEY_ALGORITHMS.join(', ')}`);
    }
    const store = await keys();
    const { jwksMaxAge, keyRefreshInterval } = keyTimings();
    const replaced = options.activate
      ? (await store.list()).find((key) => key.state === 'active')
      : undefined;
    const key = await store.generate(algorithm as OAuth2StoredKeyAlgorithm, {
      activate: options.activate,
    });
    const activableAt = new Date(
      key.createdAt.getTime() + (jwksMaxAge + keyRefreshInterval) * 1000,
    );
    return { key: keyView(key), replaced: replaced?.kid, activableAt: activableAt.toISOString() };
  },
  text: ({ key, replaced, activableAt }) => [
    `Generated ${key.alg} key ${key.kid} (${key.state}).`,
    ...(key.state === 'next'
      ? [`Activate it from ${activableAt}: nest-oauth2 keys activate ${kidArgument(key.kid)}`]
      : replaced
        ? [`Retired ${replaced}: it verifies the tokens it signed until pruned.`]
        : []),
  ],
  json: ({ key }) => key,
  warnings: ({ replaced }) =>
    replaced
      ? [
          "the new key signs from each server's next key refresh; resource servers that cached the JWKS " +
            'refuse its tokens until their copy expires (OAUTH2_JWKS_MAX_AGE)',
        ]
      : [],
});

const keysActivate = command({
  words: ['keys', 'activate'],
  positionals: [KID],
  options: [
    {
      name: 'force',
      description:
        'Activate a key published for less than OAUTH2_JWKS_MAX_AGE + OAUTH2_KEY_REFRESH_INTERVAL.',
    },
  ],
  description:
    'Make a next key the active one; the active key is retired in the same transaction and keeps ' +
    'verifying its tokens. Refused for a key published for less than the JWKS max-age plus the key ' +
    'refresh interval, which resource servers need to learn it.',
  run: async ({ positionals, options, keys, keyTimings }) => {
    const store = await keys();
    const { jwksMaxAge, keyRefreshInterval } = keyTimings();
    try {
      const changed = await store.activate(positionals.kid, {
        minNextAge: jwksMaxAge + keyRefreshInterval,
        force: options.force,
      });
      return { kid: positionals.kid, changed: changed.map(keyView), keyRefreshInterval };
    } catch (error) {
      if (error instanceof OAuth2KeyStoreError && error.code === 'published_too_recently') {
        throw new CliError(`${error.message}, or now with --force`);
      }
      throw error;
    }
  },
  text: ({ kid, changed, keyRefreshInterval }) => {
    if (changed.length === 0) return [`Key ${kid} is the active key already.`];
    const retired = changed.filter((key) => key.state === 'retired').map((key) => key.kid);
    return [
      `Activated key ${kid}: every server signs with it within ${keyRefreshInterval} s.`,
      ...retired.map((old) => `Retired ${old}: it verifies the tokens it signed until pruned.`),
    ];
  },
  json: ({ changed }) => changed,
});

const keysRetire = command({
  words: ['keys', 'retire'],
  positionals: [KID],
  description:
    'Retire a next key that will not be used. Retiring a retired key does nothing; the active key is ' +
    'refused (activate another key instead).',
  run: async ({ positionals, keys }) => {
    const store = await keys();
    const before = (await store.list()).find((key) => key.kid === positionals.kid);
    const key = keyView(await store.retire(positionals.kid));
    return { key, already: before?.state === 'retired' };
  },
  text: ({ key, already }) => [
    already ? `Key ${key.kid} was retired already (${key.retiredAt}).` : `Retired key ${key.kid}.`,
  ],
  json: ({ key }) => key,
});

const keysPrune = command({
  words: ['keys', 'prune'],
  description:
    'Remove the retired keys no valid token can name any more: retired longer ago than the access ' +
    'token lifetime (OAUTH2_ACCESS_TOKEN_LIFETIME) plus the key refresh interval. Never an active or ' +
    'next key.',
  run: async ({ keys, keyTimings }) => {
    const store = await keys();
    const { accessTokenLifetime, keyRefreshInterval } = keyTimings();
    const keep = accessTokenLifetime + keyRefreshInterval;
    return { removed: (await store.prune(keep)).map(keyView), keep };
  },
  text: ({ removed, keep }) =>
    removed.length === 0
      ? [`No retired key was retired more than ${keep} s ago: nothing to remove.`]
      : removed.map((key) => `Removed ${key.alg} key ${key.kid} (retired ${key.retiredAt}).`),
  json: ({ removed }) => removed,
});

/** The options every command takes. */
const COMMON_OPTIONS = [
  {
    name: 'table',
    value: 'name',
    description: `The client table (env OAUTH2_CLIENT_TABLE). Default: ${DEFAULT_CLIENT_TABLE}`,
  },
  {
    name: 'table-prefix',
    value: 'prefix',
    description:
      "Prefix of the client and signing key tables' names, as yii2's tablePrefix (env OAUTH2_TABLE_PREFIX).",
  },
  { name: 'json', description: 'Print the result as JSON on stdout.' },
] as const;

/** The command line of `nest-oauth2`: parsing, the usage text, dispatch and output all read it. */
export const CLI: CommandTable<Command, typeof COMMON_OPTIONS> = {
  program: 'nest-oauth2',
  description:
    'Manages the OAuth 2.0 clients and signing keys in the database that DATABASE_URL names: ' +
    `sqlite:<path> (default ${DEFAULT_DATABASE_URL}), postgres://…[?schema=<name>], postgresql://…, ` +
    'mysql://… or mariadb://…. A generated secret is stored as a keyed digest (HMAC-SHA-256, peppered ' +
    'with OAUTH2_SECRET_PEPPER when set), a chosen one (--secret) as a scrypt hash; a generated secret ' +
    'is shown once and cannot be shown again. The key commands need OAUTH2_KEY_ENCRYPTION_KEY (and ' +
    'OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS while it rotates), and read OAUTH2_JWKS_MAX_AGE (300), ' +
    'OAUTH2_KEY_REFRESH_INTERVAL (60) and OAUTH2_ACCESS_TOKEN_LIFETIME (3600) as the servers do.',
  commands: [
    migrate,
    clientCreate,
    clientList,
    clientShow,
    clientRotateSecret,
    clientDelete,
    clientHashLegacySecrets,
    keysList,
    keysGenerate,
    keysActivate,
    keysRetire,
    keysPrune,
  ],
  options: COMMON_OPTIONS,
  footer: 'Exit status: 0 on success, 1 when the command failed, 2 when the command line is wrong.',
};

/** A kid as a command line argument: a base64url kid may start with '-', which must then follow `--`. */
function kidArgument(kid: string): string {
  return kid.startsWith('-') ? `-- ${kid}` : kid;
}

function keyView(key: OAuthKeyInfo): KeyView {
  return {
    kid: key.kid,
    alg: key.algorithm,
    state: key.state,
    createdAt: key.createdAt.toISOString(),
    activatedAt: key.activatedAt?.toISOString() ?? null,
    retiredAt: key.retiredAt?.toISOString() ?? null,
  };
}

function withSecret({ client, secret }: SecretResult): unknown {
  return secret ? { ...client, client_secret: secret } : client;
}

function secretLines(secret: string | undefined): string[] {
  return secret ? [`Client secret: ${secret}`, STORE_IT_NOW] : [];
}

function describe(client: ClientView): string[] {
  return columns([
    ['client_id:', client.client_id],
    ['client_type:', client.client_type],
    ['grant_types:', grantTypesText(client)],
    ['scope:', client.scope ?? '-'],
    ['user_id:', client.user_id ?? '-'],
    ['redirect_uri:', client.redirect_uri ?? '-'],
  ]);
}

function grantTypesText(client: ClientView): string {
  return client.grant_types === null ? '(any)' : client.grant_types.join(' ');
}

/** Rows as aligned columns, two spaces apart. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const last = widths.length - 1;
  return rows.map((row) =>
    row.map((cell, column) => (column < last ? cell.padEnd(widths[column]) : cell)).join('  '),
  );
}
