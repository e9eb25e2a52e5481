import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import {
  CLIENT_AUTH_METHODS,
  DEFAULT_CLIENT_TABLE,
  OAuth2KeyStoreError,
  STORED_KEY_ALGORITHMS,
  type OAuth2KeyStore,
  type OAuth2StoredKeyAlgorithm,
  type OAuthClientAuthMethod,
  type OAuthKeyInfo,
  type OAuth2EventSink,
  ClientSecretPolicyError,
} from '../index.js';
import type {
  CommandSyntax,
  CommandTable,
  OptionSpec,
  OptionValues,
  PositionalSpec,
  PositionalValues,
} from './cli-args.js';
import { announce, NOT_ANNOUNCED_EXIT_CODE, type Announcement } from './announce.js';
import { CliError } from './cli-error.js';
import {
  CLIENT_CREDENTIALS,
  type ClientCommands,
  type ClientSettings,
  type ClientView,
  type SecretResult,
} from './client-commands.js';
import { parseAudience, parseJwksDocument, parseJwksUri } from './client-settings.js';
import { DEFAULT_DATABASE_URL } from './database-url.js';
import { applyMigrations, pendingMigrations, messageOf } from './database.js';
import { parseDuration } from './duration.js';
import { longestTokenLifetime, type KeyTimings } from './env-settings.js';
import type { LegacySecretsResult } from './legacy-secrets.js';
import type { Progress } from './progress.js';
import type { RedisState } from '../redis/redis-state.js';

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
  /** Where audit events go: the client and key stores above report their changes there themselves. */
  events: OAuth2EventSink;
  /**
   * OAUTH2_JWKS_MAX_AGE, OAUTH2_KEY_REFRESH_INTERVAL, OAUTH2_ACCESS_TOKEN_LIFETIME and
   * OAUTH2_MAX_ACCESS_TOKEN_LIFETIME, or the server's defaults.
   */
  keyTimings(): KeyTimings;
  /** OAUTH2_MAX_ACCESS_TOKEN_LIFETIME, or the module's default. */
  maxAccessTokenLifetime(): number;
  /** The servers' shared store that REDIS_URL names, connected once; refused without REDIS_URL. */
  redis(): Promise<RedisState>;
  /** A chosen secret from stdin: piped, or typed without echo on a terminal. */
  readSecret(): Promise<string>;
  /** Where a relative path (--jwks-file) is read from. */
  cwd: string;
  /** Aborted when an interruptible command is interrupted (SIGINT): it stops after the work in progress. */
  signal: AbortSignal;
  /** How many secrets to hash at once: one per thread of libuv's pool, no more than the cores. */
  hashConcurrency: number;
  /** Progress on stderr when it is a terminal and the output is not JSON; else nothing. */
  progress(label: string): Progress;
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
  /** The exit status of a result. @default 0 */
  exitCode?(result: R): number;
  /** What the servers must hear of the result, told through REDIS_URL when set. @default nothing */
  announce?(result: R): Announcement;
  /** SIGINT aborts `signal` rather than ending the process at once. */
  interruptible?: boolean;
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

/** The options of the settings `client create` and `client update` share, described once. */
const SETTINGS_OPTIONS = [
  {
    name: 'auth-method',
    value: 'method',
    field: 'tokenEndpointAuthMethod',
    description:
      `How it authenticates (RFC 7591 §2): ${CLIENT_AUTH_METHODS.join(', ')}. Default: either ` +
      'secret method; none for a public client',
  },
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
    name: 'audience',
    value: 'uris',
    field: 'audience',
    description:
      'The audiences it may ask for with resource (RFC 8707): absolute URIs, space-separated; the first ' +
      "is its tokens' aud when it asks for none. Default: the server's audience",
  },
  {
    name: 'access-token-lifetime',
    value: 'seconds',
    field: 'accessTokenLifetime',
    description:
      "Its tokens' lifetime, in seconds or as <n>s|m|h|d, at most OAUTH2_MAX_ACCESS_TOKEN_LIFETIME " +
      "(86400). Default: the server's",
  },
  {
    name: 'user-id',
    value: 'id',
    field: 'userId',
    description:
      "The user it acts for: the tokens' sub; never another client's id. Default: the client id",
  },
  {
    name: 'jwks-file',
    value: 'path',
    conflicts: ['jwks-uri'],
    field: 'jwks',
    description:
      'For private_key_jwt: a JWK Set file of its public keys (RS256, PS256 or ES256; no private key).',
  },
  {
    name: 'jwks-uri',
    value: 'url',
    field: 'jwksUri',
    description:
      'For private_key_jwt: where it publishes its JWK Set (https; http on loopback only).',
  },
  {
    name: 'redirect-uri',
    value: 'uri',
    field: 'redirectUri',
    description: 'Kept for redirect-based grants; this server uses none.',
  },
] as const;

const SECRET_OPTIONS = [
  {
    name: 'secret',
    value: 'secret',
    conflicts: ['secret-stdin'],
    field: 'clientSecret',
    description: 'A secret of your choosing, stored as a scrypt hash and never printed.',
    warning:
      '--secret is visible to other users in the process list and stays in the shell history: ' +
      'prefer --secret-stdin',
  },
  {
    name: 'secret-stdin',
    description:
      'Read the chosen secret from stdin (one trailing newline removed); on a terminal it is asked ' +
      'for twice, without echo.',
  },
] as const;

const clientCreate = command({
  words: ['client', 'create'],
  options: [
    { name: 'id', value: 'id', required: true, field: 'clientId', description: 'The client id.' },
    {
      name: 'public',
      conflicts: ['secret', 'secret-stdin'],
      description: 'A public client: no secret.',
    },
    ...SECRET_OPTIONS,
    ...SETTINGS_OPTIONS,
  ],
  description:
    'Register a client. Unless the secret is chosen, or the client is public or uses private_key_jwt, a ' +
    'secret is generated and printed once.',
  run: async (context) => {
    // Every option is checked, and the secret read, before the database is opened.
    const settings = await clientSettings(context, { clearing: false });
    const secret = context.options.public ? null : await chosenSecret(context);
    const clients = await context.clients();
    return withSecretPolicy(context, () =>
      clients.create({ clientId: context.options.id, secret, ...settings }),
    );
  },
  text: ({ client, secret }) => [
    `Created ${client.client_type} client '${client.client_id}'.`,
    ...describe(client),
    ...secretLines(secret),
  ],
  json: withSecret,
  warnings: (result) => result.warnings,
  // A server may hold the id's "no such client" in its cache.
  announce: ({ client }) => ({ clients: [client.client_id] }),
});

const clientUpdate = command({
  words: ['client', 'update'],
  positionals: [CLIENT_ID],
  options: SETTINGS_OPTIONS,
  description:
    'Change the settings given, and only those; an empty value clears --scope, --audience, ' +
    '--access-token-lifetime, --user-id, --jwks-uri and --redirect-uri. --auth-method none or ' +
    "private_key_jwt removes the client's secrets; a secret method on a client without one generates it, " +
    'printed once.',
  run: async (context) => {
    const settings = await clientSettings(context, { clearing: true });
    if (Object.keys(settings).length === 0) {
      throw CliError.usage(`'client update' needs at least one setting to change`);
    }
    return (await context.clients()).update(context.positionals.id, settings);
  },
  text: ({ client, secret }) => [
    `Updated client '${client.client_id}'.`,
    ...describe(client),
    ...secretLines(secret),
  ],
  json: withSecret,
  warnings: (result) => result.warnings,
  announce: ({ client }) => ({ clients: [client.client_id] }),
});

/** `client disable` and `client enable`: one row each, from one description. */
function clientSwitch(disabled: boolean) {
  const word = disabled ? 'disable' : 'enable';
  return command({
    words: ['client', word],
    positionals: [CLIENT_ID],
    description: disabled
      ? 'Refuse the client (401 invalid_client) until enabled again; its secrets and keys are kept. ' +
        'With REDIS_URL every server refuses it, and the tokens it holds, within 1 s; without, each ' +
        "server within its client cache's TTL, and tokens already issued stay valid until they expire."
      : 'Accept a disabled client again (the tokens it held before stay revoked).',
    run: async ({ positionals, clients }) =>
      (await clients()).setDisabled(positionals.id, disabled),
    text: (client) => [`${disabled ? 'Disabled' : 'Enabled'} client '${client.client_id}'.`],
    announce: ({ client_id }) => ({
      clients: [client_id],
      revokeTokensOf: disabled ? [client_id] : [],
    }),
  });
}

const clientList = command({
  words: ['client', 'list'],
  description: 'List the clients.',
  run: async ({ clients }) => (await clients()).list(),
  text: (clients) =>
    clients.length === 0
      ? ['No clients.']
      : columns([
          ['CLIENT ID', 'TYPE', 'AUTH METHOD', 'GRANT TYPES', 'SCOPE', 'USER ID', 'STATUS'],
          ...clients.map((client) => [
            client.client_id,
            client.client_type,
            client.token_endpoint_auth_method ?? '-',
            grantTypesText(client),
            client.scope ?? '-',
            client.user_id ?? '-',
            client.disabled ? 'disabled' : 'enabled',
          ]),
        ]),
});

const clientShow = command({
  words: ['client', 'show'],
  positionals: [CLIENT_ID],
  description: 'Show one client: its settings, never a secret or key material.',
  run: async ({ positionals, clients }) => (await clients()).show(positionals.id),
  text: describe,
});

const EXPIRES_IN = {
  name: 'expires-in',
  value: 'duration',
  description: 'When it stops being accepted, as <n>s|m|h|d (30s, 15m, 24h, 90d). Default: never',
} as const;

const clientSecretAdd = command({
  words: ['client', 'secret', 'add'],
  positionals: [CLIENT_ID],
  options: [EXPIRES_IN, ...SECRET_OPTIONS],
  description:
    'Give a confidential client one more secret, generated and printed once unless chosen; its other ' +
    'secrets stay valid.',
  run: async (context) => {
    const given = context.options['expires-in'];
    const expiresIn = given === undefined ? undefined : parseDuration(given, '--expires-in');
    const secret = await chosenSecret(context);
    const clients = await context.clients();
    return withSecretPolicy(context, () =>
      clients.addSecret(context.positionals.id, { secret, expiresIn }),
    );
  },
  announce: ({ clientId }) => ({ clients: [clientId] }),
  text: (added) => [
    `Added secret ${added.secretId} to client '${added.clientId}'` +
      (added.expiresAt === null ? '.' : `, valid until ${added.expiresAt}.`),
    ...secretLines(added.secret ?? undefined),
  ],
});

const clientSecretList = command({
  words: ['client', 'secret', 'list'],
  positionals: [CLIENT_ID],
  description:
    "List a client's secrets: ids, created, expires, last used (never a hash). The seed column's " +
    'secret is primary.',
  run: async ({ positionals, clients }) => (await clients()).listSecrets(positionals.id),
  text: (secrets) => {
    const now = new Date().toISOString();
    return secrets.length === 0
      ? ['No secrets.']
      : columns([
          ['ID', 'CREATED', 'EXPIRES', 'LAST USED'],
          ...secrets.map((secret) => [
            secret.id,
            secret.createdAt ?? '-',
            secret.expiresAt === null
              ? 'never'
              : secret.expiresAt <= now
                ? `${secret.expiresAt} (expired)`
                : secret.expiresAt,
            secret.lastUsedAt ?? '-',
          ]),
        ]);
  },
});

const clientSecretRevoke = command({
  words: ['client', 'secret', 'revoke'],
  positionals: [CLIENT_ID, { name: 'secret-id', description: 'a secret id (client secret list)' }],
  description:
    'Revoke one secret at once: servers refuse it within 1 s with REDIS_URL, else within their client ' +
    "cache TTL. primary is expired rather than removed. Revoking the client's last unexpired secret also " +
    'revokes the tokens it holds (with REDIS_URL).',
  run: async ({ positionals, clients }) =>
    (await clients()).revokeSecret(positionals.id, positionals['secret-id']),
  text: ({ clientId, secretId }) => [`Revoked secret ${secretId} of client '${clientId}'.`],
  warnings: ({ clientId, remaining }) =>
    remaining > 0
      ? []
      : [
          `client '${clientId}' has no unexpired secret left: it cannot authenticate until you add one ` +
            '(client secret add)',
        ],
  announce: ({ clientId, remaining }) => ({
    clients: [clientId],
    revokeTokensOf: remaining > 0 ? [] : [clientId],
  }),
});

const clientRotateSecret = command({
  words: ['client', 'rotate-secret'],
  positionals: [CLIENT_ID],
  options: [
    {
      name: 'keep-old-for',
      value: 'duration',
      description:
        'How long the other secrets stay valid, as <n>s|m|h|d: the time to roll the new one out. ' +
        'Default: they stop at once',
    },
  ],
  description:
    'Give a confidential client a new generated secret, printed once, and make its other secrets expire ' +
    '(now, or after --keep-old-for; an earlier expiry is kept).',
  run: async ({ options, positionals, clients }) => {
    const keep = options['keep-old-for'];
    return (await clients()).rotateSecret(
      positionals.id,
      keep === undefined ? 0 : parseDuration(keep, '--keep-old-for', { min: 0 }),
    );
  },
  text: (rotated) => [
    `Rotated the secret of client '${rotated.clientId}': new secret ${rotated.secretId}.`,
    ...secretLines(rotated.secret),
    ...rotated.expiring.map((old) => `Secret ${old.id} stops at ${old.expiresAt}.`),
  ],
  announce: ({ clientId }) => ({ clients: [clientId] }),
});

const clientDelete = command({
  words: ['client', 'delete'],
  positionals: [CLIENT_ID],
  description: 'Delete a client (with REDIS_URL, the tokens it holds are revoked too).',
  run: async ({ positionals: { id }, clients }) => {
    await (await clients()).delete(id);
    return { client_id: id, deleted: true };
  },
  text: ({ client_id }) => [`Deleted client '${client_id}'.`],
  announce: ({ client_id }) => ({ clients: [client_id], revokeTokensOf: [client_id] }),
});

const clientRevokeTokens = command({
  words: ['client', 'revoke-tokens'],
  positionals: [CLIENT_ID],
  description:
    'Revoke every access token the client holds now (RFC 7009): every server refuses them within 1 s; ' +
    'tokens it gets from now on are accepted. Needs REDIS_URL, where the servers keep revocations. ' +
    'Disabling or deleting a client, or revoking its last secret, does this too.',
  run: async ({ positionals: { id }, redis, maxAccessTokenLifetime, events }) => {
    const lifetime = maxAccessTokenLifetime();
    const state = await redis();
    const now = Date.now();
    try {
      await announce(
        state,
        { revokeTokensOf: [id] },
        { maxAccessTokenLifetime: lifetime, now, events },
      );
    } catch (error) {
      throw new CliError(`${messageOf(error)}: no token was revoked`);
    }
    return { client_id: id, issued_until: new Date(now).toISOString() };
  },
  text: ({ client_id, issued_until }) => [
    `Revoked the access tokens of client '${client_id}' issued until ${issued_until}.`,
  ],
});

/** Exit status of a command stopped by SIGINT (128 + 2), as shells report it. */
const INTERRUPTED_EXIT_CODE = 130;

const clientHashLegacySecrets = command({
  words: ['client', 'hash-legacy-secrets'],
  description:
    'Replace every plaintext secret (as oauth2-server-php and yii2-oauth2-server stored them) by its ' +
    'scrypt hash; the clients keep their secrets. Hashes on every core, in batches, with progress on a ' +
    "terminal; another scheme's $…$ hash is left alone. Ctrl-C stops after the batch in progress (exit " +
    '130): running it again finishes the job.',
  interruptible: true,
  run: async ({ clients, signal, hashConcurrency, progress }): Promise<LegacySecretsResult> =>
    (await clients({ hashesSecrets: true })).hashLegacySecrets({
      concurrency: hashConcurrency,
      signal,
      progress: progress('Hashing plaintext secrets:'),
    }),
  // No announcement: each client keeps its secret, so a server's cached copy accepts the same ones.
  text: ({ hashed, interrupted }) => [
    `${interrupted ? 'Interrupted: hashed' : 'Hashed'} ${hashed} plaintext client ` +
      `secret${hashed === 1 ? '' : 's'}${interrupted ? '; run the command again to finish.' : '.'}`,
  ],
  warnings: ({ skipped, notOurs }) => [
    ...(skipped === 0
      ? []
      : [
          `${skipped} secret(s) changed while this ran (a server upgrading them, say) and were left as they are; run the command again to check`,
        ]),
    ...(notOurs === 0
      ? []
      : [
          `${notOurs} secret(s) are another scheme's hashes ($…$), not ours: left as they are; those ` +
            'clients cannot authenticate here until given a new secret (client rotate-secret)',
        ]),
  ],
  exitCode: ({ interrupted }) => (interrupted ? INTERRUPTED_EXIT_CODE : 0),
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
  // The JWKS publishes the new key; activated, it signs.
  announce: () => ({ keys: true }),
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
  announce: ({ changed }) => ({ keys: changed.length > 0 }),
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
  announce: ({ already }) => ({ keys: !already }),
});

const keysPrune = command({
  words: ['keys', 'prune'],
  description:
    'Remove the retired keys no valid token can name any more: retired longer ago than the longest ' +
    'lifetime a token can have now, OAUTH2_ACCESS_TOKEN_LIFETIME or a longer client lifetime (each ' +
    'bounded by OAUTH2_MAX_ACCESS_TOKEN_LIFETIME), plus the key refresh interval. Never an active or ' +
    'next key.',
  run: async ({ keys, keyTimings, clients }) => {
    const store = await keys();
    const timings = keyTimings();
    const lifetimes = await (await clients()).tokenLifetimes();
    const keep = longestTokenLifetime(timings, lifetimes) + timings.keyRefreshInterval;
    return { removed: (await store.prune(keep)).map(keyView), keep };
  },
  text: ({ removed, keep }) =>
    removed.length === 0
      ? [`No retired key was retired more than ${keep} s ago: nothing to remove.`]
      : removed.map((key) => `Removed ${key.alg} key ${key.kid} (retired ${key.retiredAt}).`),
  json: ({ removed }) => removed,
  announce: ({ removed }) => ({ keys: removed.length > 0 }),
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
    "with OAUTH2_SECRET_PEPPER when set: the servers' pepper), a chosen one (--secret-stdin, at least " +
    'OAUTH2_MIN_SECRET_LENGTH characters, default 20) as a scrypt hash; a generated ' +
    'secret is shown once and cannot be shown again. Durations are <n>s|m|h|d (30s, 15m, 24h, 90d). ' +
    'The key commands need OAUTH2_KEY_ENCRYPTION_KEY (and OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS while it ' +
    'rotates), and read OAUTH2_JWKS_MAX_AGE (300), OAUTH2_KEY_REFRESH_INTERVAL (60), ' +
    'OAUTH2_ACCESS_TOKEN_LIFETIME (3600) and OAUTH2_MAX_ACCESS_TOKEN_LIFETIME (86400) as the servers do. ' +
    "With REDIS_URL (redis:// or rediss://, and OAUTH2_REDIS_KEY_PREFIX: the servers' store.redis), " +
    'every change is announced to the servers after the database change, so each applies it within 1 s ' +
    '(else within its client cache TTL or key refresh interval); disabling or deleting a client, or ' +
    'revoking its last secret, also revokes the tokens it holds.',
  commands: [
    migrate,
    clientCreate,
    clientUpdate,
    clientList,
    clientShow,
    clientSwitch(true),
    clientSwitch(false),
    clientSecretAdd,
    clientSecretList,
    clientSecretRevoke,
    clientRotateSecret,
    clientDelete,
    clientRevokeTokens,
    clientHashLegacySecrets,
    keysList,
    keysGenerate,
    keysActivate,
    keysRetire,
    keysPrune,
  ],
  options: COMMON_OPTIONS,
  footer:
    'Exit status: 0 on success, 1 when the command failed, 2 when the command line is wrong, ' +
    `${NOT_ANNOUNCED_EXIT_CODE} when the change is saved but REDIS_URL could not be reached to announce it ` +
    '(the warning says what the servers miss).',
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

/**
 * Runs a client command that may hash a chosen secret: the hasher's refusal of a short one names the option
 * that gave it and the variable that sets the minimum.
 */
async function withSecretPolicy<T>(context: CommandContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ClientSecretPolicyError)) throw error;
    const option = typeof context.options.secret === 'string' ? '--secret' : '--secret-stdin';
    throw new CliError(
      `${option}: ${error.message} (OAUTH2_MIN_SECRET_LENGTH); choose a longer one, or leave it out ` +
        'to have one generated',
    );
  }
}

/** The secret `--secret` or `--secret-stdin` gives, if any. */
async function chosenSecret(context: CommandContext): Promise<string | undefined> {
  const { options } = context;
  if (typeof options.secret === 'string') return options.secret;
  return options['secret-stdin'] ? context.readSecret() : undefined;
}

/**
 * The settings the options of `SETTINGS_OPTIONS` give, each checked by its one rule. With `clearing`
 * (update), an empty value clears what may be unset.
 */
async function clientSettings(
  { options, cwd, maxAccessTokenLifetime }: CommandContext,
  { clearing }: { clearing: boolean },
): Promise<ClientSettings> {
  const value = (name: string): string | null | undefined => {
    const given = options[name];
    if (typeof given !== 'string') return undefined;
    return clearing && given === '' ? null : given;
  };
  const settings: ClientSettings = {};
  const method = value('auth-method');
  if (method !== undefined) {
    if (!(CLIENT_AUTH_METHODS as readonly (string | null)[]).includes(method)) {
      throw CliError.usage(`--auth-method must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
    }
    settings.authMethod = method as OAuthClientAuthMethod;
  }
  const grantTypes = options['grant-types'];
  if (typeof grantTypes === 'string') settings.grantTypes = grantTypes;
  for (const [name, key] of [
    ['scope', 'scope'],
    ['user-id', 'userId'],
    ['redirect-uri', 'redirectUri'],
  ] as const) {
    const given = value(name);
    if (given !== undefined) settings[key] = given;
  }
  const lifetime = value('access-token-lifetime');
  if (lifetime !== undefined) {
    settings.accessTokenLifetime =
      lifetime === null ? null : checkLifetime(lifetime, maxAccessTokenLifetime());
  }
  const audience = value('audience');
  if (audience !== undefined) {
    settings.audience = audience === null ? null : parseAudience(audience, '--audience');
  }
  const jwksUri = value('jwks-uri');
  if (jwksUri !== undefined) {
    settings.jwksUri = jwksUri === null ? null : parseJwksUri(jwksUri, '--jwks-uri');
  }
  const jwksFile = options['jwks-file'];
  if (typeof jwksFile === 'string') {
    let text: string;
    try {
      text = await readFile(resolve(cwd, jwksFile), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(`cannot read --jwks-file ${jwksFile} (${code ?? messageOf(error)})`);
    }
    settings.jwks = await parseJwksDocument(text, `--jwks-file ${jwksFile}`);
  }
  return settings;
}

/** `--access-token-lifetime`: seconds or a duration, at most the module's maximum. */
function checkLifetime(text: string, max: number): number {
  const seconds = parseDuration(text, '--access-token-lifetime', { bareSeconds: true });
  if (seconds > max) {
    throw new CliError(
      `--access-token-lifetime must not exceed OAUTH2_MAX_ACCESS_TOKEN_LIFETIME (${max} s)`,
    );
  }
  return seconds;
}

function withSecret({ client, secret }: SecretResult): unknown {
  return secret ? { ...client, client_secret: secret } : client;
}

function secretLines(secret: string | undefined): string[] {
  return secret ? [`Client secret: ${secret}`, STORE_IT_NOW] : [];
}

function describe(client: ClientView): string[] {
  const method =
    client.token_endpoint_auth_method ??
    (client.client_type === 'public' ? '(none)' : '(client_secret_basic or client_secret_post)');
  return columns([
    ['client_id:', client.client_id],
    ['client_type:', client.client_type],
    ['token_endpoint_auth_method:', method],
    ['grant_types:', grantTypesText(client)],
    ['scope:', client.scope ?? '-'],
    ['audience:', client.audience?.join(' ') ?? "(the server's)"],
    [
      'access_token_lifetime:',
      client.access_token_lifetime === null
        ? "(the server's)"
        : `${client.access_token_lifetime} s`,
    ],
    ['user_id:', client.user_id ?? '-'],
    ['jwks:', client.jwks_inline ? '(inline, set)' : '-'],
    ['jwks_uri:', client.jwks_uri ?? '-'],
    ['redirect_uri:', client.redirect_uri ?? '-'],
    ['disabled:', client.disabled ? 'yes' : 'no'],
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
