// npm run bench: measures, in one bounded run on loopback, our token endpoint and guarded route against bare
// node:http + node:crypto references and against peers, and writes bench/results/latest.{md,json}.
// Method and options: bench/README.md. A benchmark, never a test: it asserts nothing and exits 0 unless it broke.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemCpuSeconds } from './lib/cpu.mjs';
import { renderChartFile } from './chart.mjs';
import { accessTokens, clientAssertionBodies, generateKeyMaterial } from './lib/keys.mjs';
import { describeMachine } from './lib/machine.mjs';
import { CORES, nextMessage, setUpPinning, spawnNode, stopChild } from './lib/processes.mjs';
import { printTable, renderMarkdown } from './lib/report.mjs';
import { combineRounds, compareRows } from './lib/rounds.mjs';
import { checkRedis, createSchema, deleteRedisKeys, dropSchema, redact } from './lib/services.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The algorithm the example app signs with when nothing is configured: what a new user gets. */
async function exampleDefaultAlgorithm() {
  try {
    const { ExampleConfig } = await import('../dist/example/example-config.js');
    return new ExampleConfig({}, { cwd: here }).signing.algorithm;
  } catch {
    return 'ES256';
  }
}
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const PROFILE = process.env.BENCH_PROFILE === '1';
const DEFAULT_ALG = process.env.BENCH_DEFAULT_ALG ?? (await exampleDefaultAlgorithm());
const ALGORITHMS = [
  ...new Set(QUICK ? [DEFAULT_ALG, 'HS256'] : [DEFAULT_ALG, 'HS256', 'ES256', 'RS256']),
];
/** The Express rows' and the revocation-and-throttling rows' algorithms. */
const EXPRESS_ALGORITHMS = [...new Set([DEFAULT_ALG, 'HS256'])];
const STATE_ALGORITHMS = EXPRESS_ALGORITHMS;
/**
 * Throughput rows are measured in `rounds` of `round` seconds, each after `rewarm` seconds of load (the server
 * warmed up `warmup` seconds once, before the first); the flood scenarios measure `duration` seconds once.
 */
const TIMING = QUICK
  ? {
      warmup: 1,
      rounds: 2,
      round: 1.5,
      rewarm: 0.25,
      duration: 3,
      soak: 15,
      soakWarmup: 5,
      soakChunk: 5,
      coldProbes: 2,
      retries: 6,
    }
  : {
      warmup: 2,
      rounds: 6,
      round: 1.5,
      rewarm: 0.25,
      duration: 8,
      soak: 60,
      soakWarmup: 10,
      soakChunk: 5,
      coldProbes: 6,
      retries: 24,
    };
/** The kinds of scenario measured in rounds: one stream, throughput and CPU per request. */
const ROUND_KINDS = new Set(['hello', 'issue', 'verify']);
/** Other processes using more than this percent of a core during a measurement make it noisy. */
const BUSY_PERCENT = 15;
const CONNECTIONS = 32;
const FLOOD_CONNECTIONS = 128;
const LEGIT_RATE = 50;
/** Loopback source addresses (all of 127/8 is loopback on Linux): the stranger's, and the legitimate clients'. */
const STRANGER_ADDRESS = '127.0.0.2';
const LEGIT_ADDRESSES = ['127.0.0.3', '127.0.0.4'];
/** Wrong-secret timing: requests per kind of client, and the pause between two (no contention). */
const TIMING_SAMPLES = QUICK ? 25 : 100;
const TIMING_GAP_MS = 50;
/** How long to wait for other work on the machine to settle before starting. */
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT ?? 60);
/** The whole run stops itself past this, whatever is still going. */
const DEADLINE_MS = (QUICK ? 8 : 25) * 60_000;
/**
 * Guarded-route rows present tokens in turn from a pool: FRESH_TOKENS distinct ones, more than any bounded
 * verified-token cache holds (so each request costs what a token never seen before costs), or REUSED_TOKENS
 * (a few hundred clients reusing theirs).
 */
const FRESH_TOKENS = 4096;
const REUSED_TOKENS = 300;
/** The revocations the store holds in the revocation-and-throttling rows (none of them the bench's clients). */
const REVOCATIONS = { tokens: 500, clients: 50 };
/** The external services; `off` skips their rows on purpose (the results say so). */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Names this run's Redis keys and PostgreSQL schema, removed at the end. */
const RUN_ID = randomBytes(4).toString('hex');
const REDIS_PREFIX = `bench-${RUN_ID}:`;
const POSTGRES_SCHEMA = `bench_${RUN_ID}`;

const ISSUER = 'https://auth.bench.example';
const AUDIENCE = 'https://api.bench.example';
const CLIENT_SCOPE = 'bench:read bench:write';
const TOKEN_BODY = 'grant_type=client_credentials&scope=bench%3Aread';
const FORM = 'application/x-www-form-urlencoded';

const servers = {
  reference: (mode, algorithm) => ({ script: 'servers/reference.mjs', args: [mode], algorithm }),
  nest: (platform, mode, algorithm, moduleOptions = {}) => ({
    script: 'servers/nest.mjs',
    args: [platform, mode],
    algorithm,
    moduleOptions,
    ours: mode === 'oauth' || mode === 'resource',
  }),
  oidc: (algorithm) => ({ script: 'servers/oidc-provider.mjs', algorithm }),
  jmondi: () => ({ script: 'servers/jmondi.mjs', algorithm: 'HS256' }),
};

/**
 * Events and metrics on against off, back to back (the issue's target: at most 5% cost): token issuance
 * (ES256), and the guard with ES256 and with HS256 (the cheapest request, where a fixed cost weighs most).
 * Issuance, the one with an audit line per response, also runs with nestjs-pino as the app's logger.
 */
const OBSERVABILITY_ROWS = [
  ['issue', 'ES256'],
  ['verify', 'ES256'],
  ['verify', 'HS256'],
];
/** The "on" variants: how the app logs. */
const OBSERVABILITY_LOGGERS = [
  ['on', "Nest's ConsoleLogger JSON"],
  ['pino', 'nestjs-pino'],
];

function observabilityScenarios() {
  return OBSERVABILITY_ROWS.flatMap(([kind, alg]) => {
    const what = kind === 'issue' ? 'token' : 'guarded route';
    const off = `observability-off-${kind}-${alg}`;
    const group = `observability-${kind}-${alg}`;
    return [
      {
        id: off,
        group,
        label: `ours Fastify ${what} ${alg}, events and metrics off (no-op metrics, dropping sink)`,
        server: { ...servers.nest('fastify', 'oauth', alg), observability: 'off' },
        kind,
      },
      ...OBSERVABILITY_LOGGERS.filter(([mode]) => mode === 'on' || kind === 'issue').map(
        ([mode, how]) => ({
          id: `observability-${mode}-${kind}-${alg}`,
          group,
          label: `ours Fastify ${what} ${alg}, events and metrics on, ${how} (OpenTelemetry SDK)`,
          server: { ...servers.nest('fastify', 'oauth', alg), observability: mode },
          kind,
          ref: off,
        }),
      ),
    ];
  });
}

/**
 * Revocation store and throttling (the issue's target: each costs at most 10%), for issuance and the guarded
 * route (fresh tokens), back to back: both off (`clientAuthThrottle: false`, nothing revoked), then throttling
 * at its defaults with the in-memory store holding REVOCATIONS, then the same with the Redis store (keys under
 * a prefix of the run's own, deleted at the end).
 */
function stateScenarios() {
  return STATE_ALGORITHMS.flatMap((alg) =>
    ['issue', 'verify'].flatMap((kind) => {
      const what = kind === 'issue' ? 'token' : 'guarded route';
      const id = (store) => `state-${store}-${kind}-${alg}`;
      const group = `state-${kind}-${alg}`;
      const seeded = `${REVOCATIONS.tokens} tokens and ${REVOCATIONS.clients} clients revoked`;
      return [
        {
          id: id('off'),
          group,
          label: `ours Fastify ${what} ${alg}, throttling off, nothing revoked`,
          server: servers.nest('fastify', 'oauth', alg, { clientAuthThrottle: false }),
          kind,
        },
        {
          id: id('memory'),
          group,
          label: `ours Fastify ${what} ${alg}, throttling on, in-memory store, ${seeded}`,
          server: { ...servers.nest('fastify', 'oauth', alg), revocations: REVOCATIONS },
          kind,
          ref: id('off'),
        },
        {
          id: id('redis'),
          group,
          label: `ours Fastify ${what} ${alg}, throttling on, Redis store, ${seeded}`,
          server: {
            ...servers.nest('fastify', 'oauth', alg, {
              store: { redis: { url: REDIS_URL, keyPrefix: `${REDIS_PREFIX}${id('redis')}:` } },
            }),
            revocations: REVOCATIONS,
          },
          kind,
          external: 'Redis',
          ref: id('off'),
        },
      ];
    }),
  );
}

/**
 * The run's scenarios. Consecutive scenarios of one `group` are measured in alternating rounds, their servers up
 * side by side (bench/lib/rounds.mjs); every ratio target compares two rows of one group, except where a row is
 * compared with one of another group (the Express issuance rows with the reference issuer, PostgreSQL with
 * SQLite), whose ratio is of medians.
 */
function scenarios() {
  const reused = 'reused';
  const list = [
    {
      id: 'http-hello',
      group: reused,
      label: 'load ceiling: node:http constant JSON',
      server: servers.reference('hello'),
      kind: 'hello',
      path: '/',
    },
    {
      // Every request built anew with the next token, as the guarded-route rows send them: what that costs
      // the load generator (the server ignores the header).
      id: 'http-hello-rotating',
      group: reused,
      label: `load ceiling, a new token per request: node:http constant JSON`,
      server: servers.reference('hello'),
      kind: 'hello',
      path: '/',
      tokens: FRESH_TOKENS,
      ref: 'http-hello',
    },
    {
      id: 'nest-fastify-hello',
      group: reused,
      label: 'Nest+Fastify hello (no OAuth)',
      server: servers.nest('fastify', 'hello'),
      kind: 'hello',
      path: '/api/hello',
      ref: 'http-hello',
    },
    {
      // The reused-token rows' own floor: Nest's guard and param-decorator machinery, with nothing to verify.
      id: 'nest-fastify-guarded',
      group: reused,
      label: `Nest+Fastify whoami behind a guard that always passes (no OAuth), ${REUSED_TOKENS} tokens sent`,
      server: servers.nest('fastify', 'guarded'),
      kind: 'hello',
      path: '/api/whoami',
      tokens: REUSED_TOKENS,
      ref: 'nest-fastify-hello',
    },
  ];
  // Tokens reused (a few hundred clients, each presenting its token until it expires), in one group with the
  // Nest+Fastify hello they are compared with; the resource server's right after our local guard's.
  for (const alg of ALGORITHMS) {
    list.push({
      id: `ours-fastify-verify-reused-${alg}`,
      group: reused,
      label: `ours Fastify guarded route ${alg}, ${REUSED_TOKENS} tokens reused`,
      server: servers.nest('fastify', 'oauth', alg),
      kind: 'verify',
      tokens: REUSED_TOKENS,
      ref: 'nest-fastify-hello',
    });
    if (alg !== 'HS256') {
      list.push({
        id: `ours-fastify-verify-remote-reused-${alg}`,
        group: reused,
        label: `ours Fastify resource server (remote JWKS) ${alg}, ${REUSED_TOKENS} tokens reused`,
        server: servers.nest('fastify', 'resource', alg),
        kind: 'verify',
        tokens: REUSED_TOKENS,
        ref: `ours-fastify-verify-reused-${alg}`,
      });
    }
  }
  const base = `ours-fastify-issue-${DEFAULT_ALG}`;
  for (const alg of ALGORITHMS) {
    const issue = `issue-${alg}`;
    const verify = `verify-${alg}`;
    list.push(
      {
        id: `ref-issue-${alg}`,
        group: issue,
        label: `reference issuer ${alg} (node:http+crypto)`,
        server: servers.reference('oauth', alg),
        kind: 'issue',
      },
      {
        id: `ours-fastify-issue-${alg}`,
        group: issue,
        label: `ours Fastify token ${alg}`,
        server: servers.nest('fastify', 'oauth', alg),
        kind: 'issue',
        ref: `ref-issue-${alg}`,
      },
      {
        // What the stack alone costs a token request (Nest+Fastify, @nestjs/passport with passport-http,
        // @nestjs/jwt; no OAuth library).
        id: `nest-fastify-token-floor-${alg}`,
        group: issue,
        label: `Nest+Fastify token endpoint from the stack's parts alone (passport-http, @nestjs/jwt; no OAuth library) ${alg}`,
        server: servers.nest('fastify', 'token-floor', alg),
        kind: 'issue',
        ref: `ref-issue-${alg}`,
      },
      {
        id: `oidc-issue-${alg}`,
        group: issue,
        label: `oidc-provider token ${alg} (JWT AT)`,
        server: servers.oidc(alg),
        kind: 'issue',
        ref: `ours-fastify-issue-${alg}`,
        peer: true,
      },
    );
    if (alg === DEFAULT_ALG) {
      list.push(
        {
          // Compared with client_secret_basic (the issue's target: at least half its rate).
          id: 'ours-fastify-issue-private-key-jwt',
          group: issue,
          label: `ours Fastify token ${DEFAULT_ALG}, private_key_jwt (ES256 assertion signed per request)`,
          server: servers.nest('fastify', 'oauth', DEFAULT_ALG),
          kind: 'issue',
          client: 'private_key_jwt',
          ref: base,
        },
        {
          id: 'ours-fastify-issue-no-client-cache',
          group: issue,
          label: `ours Fastify token ${DEFAULT_ALG}, client cache off (SQLite per request)`,
          server: servers.nest('fastify', 'oauth', DEFAULT_ALG, { clientCache: { ttl: 0 } }),
          kind: 'issue',
          ref: base,
        },
      );
    }
    list.push(
      {
        id: `ref-verify-${alg}`,
        group: verify,
        label: `reference verifier ${alg} (node:http+crypto)`,
        server: servers.reference('oauth', alg),
        kind: 'verify',
      },
      {
        // The fresh rows' own floor: Nest's guard machinery with nothing to verify, sent the same tokens.
        id: `nest-fastify-guarded-fresh-${alg}`,
        group: verify,
        label: `Nest+Fastify whoami behind a guard that always passes (no OAuth), ${FRESH_TOKENS} ${alg} tokens sent`,
        server: servers.nest('fastify', 'guarded'),
        kind: 'verify',
        ref: `ref-verify-${alg}`,
      },
      {
        // What the stack alone costs verifying a fresh token (Nest+Fastify and @nestjs/jwt, no OAuth library).
        id: `nest-fastify-jwt-guarded-${alg}`,
        group: verify,
        label: `Nest+Fastify whoami behind a bare @nestjs/jwt guard (no OAuth library), ${alg}, fresh tokens`,
        server: servers.nest('fastify', 'jwt-guarded', alg),
        kind: 'verify',
        ref: `nest-fastify-guarded-fresh-${alg}`,
      },
      {
        id: `ours-fastify-verify-${alg}`,
        group: verify,
        label: `ours Fastify guarded route ${alg}, fresh tokens`,
        server: servers.nest('fastify', 'oauth', alg),
        kind: 'verify',
        ref: `ref-verify-${alg}`,
      },
    );
    if (alg !== 'HS256') {
      list.push({
        id: `ours-fastify-verify-remote-${alg}`,
        group: verify,
        label: `ours Fastify resource server (remote JWKS) ${alg}, fresh tokens`,
        server: servers.nest('fastify', 'resource', alg),
        kind: 'verify',
        ref: `ours-fastify-verify-${alg}`,
      });
    }
  }
  // Express: the guarded route with the Nest+Express hello it is compared with, then issuance and the peer.
  list.push({
    id: 'nest-express-hello',
    group: 'express-verify',
    label: 'Nest+Express hello (no OAuth)',
    server: servers.nest('express', 'hello'),
    kind: 'hello',
    path: '/api/hello',
    ref: 'http-hello',
  });
  for (const alg of EXPRESS_ALGORITHMS) {
    list.push({
      id: `nest-express-jwt-guarded-${alg}`,
      group: 'express-verify',
      label: `Nest+Express whoami behind a bare @nestjs/jwt guard (no OAuth library), ${alg}, fresh tokens`,
      server: servers.nest('express', 'jwt-guarded', alg),
      kind: 'verify',
      ref: 'nest-express-hello',
    });
    list.push({
      id: `ours-express-verify-${alg}`,
      group: 'express-verify',
      label: `ours Express guarded route ${alg}, fresh tokens`,
      server: servers.nest('express', 'oauth', alg),
      kind: 'verify',
      ref: 'nest-express-hello',
    });
  }
  for (const alg of EXPRESS_ALGORITHMS) {
    list.push({
      id: `ours-express-issue-${alg}`,
      group: 'express-issue',
      label: `ours Express token ${alg}`,
      server: servers.nest('express', 'oauth', alg),
      kind: 'issue',
      ref: `ref-issue-${alg}`,
    });
  }
  list.push({
    id: 'jmondi-issue-HS256',
    group: 'express-issue',
    label: '@jmondi/oauth2-server token HS256 (Express)',
    server: servers.jmondi(),
    kind: 'issue',
    ref: 'ours-express-issue-HS256',
    peer: true,
  });
  list.push(
    {
      // Each PostgreSQL row alone: the run has one schema, which each row creates and drops.
      id: 'ours-fastify-issue-postgres',
      label: `ours Fastify token ${DEFAULT_ALG}, PostgreSQL (client cache on)`,
      server: { ...servers.nest('fastify', 'oauth', DEFAULT_ALG), database: 'postgres' },
      kind: 'issue',
      external: 'PostgreSQL',
      ref: base,
    },
    {
      id: 'ours-fastify-issue-postgres-no-client-cache',
      label: `ours Fastify token ${DEFAULT_ALG}, PostgreSQL, client cache off (a query per request)`,
      server: {
        ...servers.nest('fastify', 'oauth', DEFAULT_ALG, { clientCache: { ttl: 0 } }),
        database: 'postgres',
      },
      kind: 'issue',
      external: 'PostgreSQL',
      ref: 'ours-fastify-issue-postgres',
    },
    {
      id: 'kdf-cold',
      label: `ours Fastify token ${DEFAULT_ALG}, KDF secret, cold (verification cache off)`,
      // Requests rotate over 16 clients, so no two in flight share (and deduplicate) one derivation.
      server: {
        ...servers.nest('fastify', 'oauth', DEFAULT_ALG, { secretVerification: { cacheTtl: 0 } }),
        kdfClients: 16,
      },
      kind: 'issue',
      client: 'kdf-rotating',
      connections: 8,
      ref: base,
    },
    {
      id: 'kdf-warm',
      label: `ours Fastify token ${DEFAULT_ALG}, KDF secret, warm cache`,
      server: servers.nest('fastify', 'oauth', DEFAULT_ALG),
      kind: 'issue',
      client: 'kdf',
      ref: base,
    },
    {
      id: 'kdf-flood',
      label: `ours Fastify ${DEFAULT_ALG}: wrong-secret flood on a KDF client`,
      server: {
        ...servers.nest('fastify', 'oauth', DEFAULT_ALG),
        kdfClients: 1 + TIMING.coldProbes,
      },
      kind: 'flood',
      ref: base,
    },
    {
      // The stranger knows the KDF client's id and guesses from its own address; the cache is cold, so every
      // legitimate request derives too. Throttling at its defaults.
      id: 'kdf-flood-same-client',
      label: `ours Fastify ${DEFAULT_ALG}: wrong-secret flood on the legitimate KDF client's id, cache cold`,
      server: servers.nest('fastify', 'oauth', DEFAULT_ALG, {
        secretVerification: { cacheTtl: 0 },
      }),
      kind: 'flood-same-client',
    },
    {
      id: 'wrong-secret-timing',
      label: `ours Fastify ${DEFAULT_ALG}: wrong-secret response time by kind of client`,
      server: servers.nest('fastify', 'oauth', DEFAULT_ALG),
      kind: 'timing',
    },
    ...stateScenarios(),
    ...observabilityScenarios(),
    {
      id: 'soak',
      label: `ours Fastify token ${DEFAULT_ALG}, ${TIMING.soak} s soak`,
      server: { ...servers.nest('fastify', 'oauth', DEFAULT_ALG), execArgv: ['--expose-gc'] },
      kind: 'soak',
    },
  );
  // Quick mode keeps what a change in the library most likely moves.
  const quickSkips = new Set([
    'oidc-issue-HS256',
    'ours-express-issue-HS256',
    'ours-express-verify-HS256',
    'jmondi-issue-HS256',
    'ours-fastify-issue-no-client-cache',
    'ours-fastify-issue-postgres',
    'ours-fastify-issue-postgres-no-client-cache',
    ...stateScenarios().map((scenario) => scenario.id),
    ...observabilityScenarios().map((scenario) => scenario.id),
  ]);
  const chosen = list.filter((s) => (ONLY ? ONLY.test(s.id) : !(QUICK && quickSkips.has(s.id))));
  // Rows of a service set to `off` are left out on purpose, and the results list them.
  const off = { Redis: REDIS_URL === 'off', PostgreSQL: POSTGRES_URL === 'off' };
  const skipped = Object.entries(off)
    .filter(([, isOff]) => isOff)
    .map(([service]) => ({
      ids: chosen.filter((s) => s.external === service).map((s) => s.id),
      reason: `BENCH_${service === 'Redis' ? 'REDIS' : 'POSTGRES'}_URL=off`,
    }))
    .filter((skip) => skip.ids.length);
  return { list: chosen.filter((s) => !off[s.external]), skipped };
}

const formEncode = (value) => encodeURIComponent(value).replace(/%20/g, '+');
const basic = ({ clientId, clientSecret }) =>
  'Basic ' + Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');

function tokenRequest(ready, credentials) {
  return {
    url: `http://127.0.0.1:${ready.port}${ready.tokenPath ?? '/oauth2/token'}`,
    method: 'POST',
    headers: { authorization: basic(credentials), 'content-type': FORM },
    body: ready.tokenBody ?? TOKEN_BODY,
  };
}

/** Sends one request of the stream and requires a 2xx: a misconfigured scenario fails before it is measured. */
async function checkStream(stream) {
  const response = await fetch(stream.url, {
    method: stream.method,
    headers: stream.headers,
    body: stream.body,
  });
  const text = await response.text();
  if (response.status >= 300)
    throw new Error(
      `${stream.method ?? 'GET'} ${stream.url} answered ${response.status} ${text.slice(0, 200)}`,
    );
}

class Bench {
  constructor() {
    this.pinned = setUpPinning();
    this.keys = generateKeyMaterial();
    this.pepper = randomBytes(32).toString('base64url');
    this.load = spawnNode(join(here, 'lib/load-worker.mjs'), {
      core: CORES.load,
      pinned: this.pinned,
    });
    this.jobs = 0;
    this.retries = TIMING.retries;
    this.rows = [];
    this.notes = [];
    this.tokenPools = new Map();
  }

  /**
   * The run's access tokens for `algorithm`, minted once (RS256 takes a few seconds): FRESH_TOKENS for the
   * rows, and one more that only the check before measuring presents.
   */
  tokenPool(algorithm) {
    if (!this.tokenPools.has(algorithm)) {
      const tokens = accessTokens(this.keys, algorithm, {
        issuer: ISSUER,
        audience: AUDIENCE,
        count: FRESH_TOKENS + 1,
      });
      this.tokenPools.set(algorithm, tokens);
    }
    return this.tokenPools.get(algorithm);
  }

  /**
   * A stream's Authorization headers: `count` of the pool in turn, one per request. The pool's last token is
   * for the check before measuring alone, so that the rows' first request is not its second.
   */
  bearerTokens(algorithm, count) {
    const pool = this.tokenPool(algorithm);
    return {
      headers: { authorization: `Bearer ${pool.at(-1)}` },
      authorizations: pool.slice(0, count).map((token) => `Bearer ${token}`),
    };
  }

  job(spec) {
    const id = ++this.jobs;
    const timeoutMs = (spec.duration + 30) * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load job ${id} did not finish`)), timeoutMs);
      const onMessage = (message) => {
        if (message?.id !== id) return;
        clearTimeout(timer);
        this.load.off('message', onMessage);
        if (message.error) reject(new Error(message.error));
        else resolve(message.result);
      };
      this.load.on('message', onMessage);
      this.load.send({ id, ...spec });
    });
  }

  async startServer(server, name) {
    const config = {
      keys: this.keys,
      pepper: this.pepper,
      algorithm: server.algorithm ?? DEFAULT_ALG,
      issuer: ISSUER,
      audience: AUDIENCE,
      scope: CLIENT_SCOPE,
      moduleOptions: server.moduleOptions ?? {},
      kdfClients: server.kdfClients ?? 1,
      observability: server.observability,
      database: server.database,
      revocations: server.revocations,
    };
    const execArgv = [...(server.execArgv ?? [])];
    if (PROFILE) {
      // Named after the scenario, so that `node bench/profile-share.mjs` says which row each profile is.
      execArgv.push('--cpu-prof', '--cpu-prof-dir', join(here, 'results/profiles'));
      if (name) execArgv.push('--cpu-prof-name', `${name}.cpuprofile`);
    }
    const child = spawnNode(join(here, server.script), {
      args: server.args,
      execArgv,
      env: { BENCH_SERVER_CONFIG: JSON.stringify(config) },
      core: CORES.server,
      pinned: this.pinned,
      // The server's log lines go to a pipe this process drains, as a container runtime's collector would.
      stdout: server.observability === 'on' || server.observability === 'pino' ? 'pipe' : 'inherit',
    });
    if (child.stdout) {
      child.logLines = 0;
      child.stdout.on('data', (chunk) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) child.logLines++;
      });
    }
    try {
      return { child, ready: await nextMessage(child, 'ready', 60_000) };
    } catch (error) {
      await stopChild(child);
      throw error;
    }
  }

  async memory(child, gc = true) {
    const reply = nextMessage(child, 'mem', 10_000);
    child.send({ cmd: 'mem', gc });
    return reply;
  }

  /**
   * One round of one row: `TIMING.rewarm` seconds of load, then `TIMING.round` measured. A measurement during
   * which other processes took CPU is repeated after waiting for quiet (twice at most, within a run-wide
   * budget); the cleanest attempt is kept, and its CPU columns show what interference remained.
   */
  async measureRound(entry) {
    const { scenario, child, stream } = entry;
    let best;
    for (let attempt = 1; ; attempt++) {
      await this.job({ serverPid: child.pid, duration: TIMING.rewarm, streams: [stream] });
      const linesBefore = child.logLines;
      const { streams, cpu } = await this.job({
        serverPid: child.pid,
        duration: TIMING.round,
        streams: [stream],
      });
      const logLines = child.logLines === undefined ? undefined : child.logLines - linesBefore;
      if (!best || (cpu.other ?? 0) < (best.cpu.other ?? 0))
        best = { ...row(scenario, streams[0], cpu), attempt, logLines };
      // Redis or PostgreSQL count as "other": a row that needs one is not repeated for it.
      if (scenario.external || (cpu.other ?? 0) <= BUSY_PERCENT) break;
      if (attempt === 3 || this.retries <= 0) break;
      this.retries--;
      await settle();
    }
    return best;
  }

  /** The stream a throughput row sends. */
  streamFor(scenario, server, ready) {
    const connections = scenario.connections ?? CONNECTIONS;
    if (scenario.kind === 'hello') {
      return {
        name: scenario.id,
        url: `http://127.0.0.1:${ready.port}${scenario.path}`,
        ...(scenario.tokens ? this.bearerTokens(DEFAULT_ALG, scenario.tokens) : {}),
        connections,
      };
    }
    if (scenario.kind === 'verify') {
      return {
        name: scenario.id,
        url: `http://127.0.0.1:${ready.port}/api/whoami`,
        ...this.bearerTokens(server.algorithm ?? DEFAULT_ALG, scenario.tokens ?? FRESH_TOKENS),
        connections,
      };
    }
    const credentials = scenario.client?.startsWith('kdf') ? ready.kdf[0] : ready.credentials;
    const stream = { name: scenario.id, ...tokenRequest(ready, credentials), connections };
    if (scenario.client === 'kdf-rotating') stream.authorizations = ready.kdf.map(basic);
    if (scenario.client === 'private_key_jwt') {
      // The assertion is the credential: no Basic header (two methods would be a 400).
      const { authorization: _basic, ...headers } = stream.headers;
      stream.headers = headers;
      stream.clientAssertion = {
        keys: this.keys,
        clientId: ready.assertionClientId,
        audience: ISSUER,
        body: stream.body,
      };
      // What checkStream sends once; the load generator signs its own, with other jti.
      stream.body = clientAssertionBodies(stream.clientAssertion)();
    }
    return stream;
  }

  /**
   * A group of throughput rows (bench/lib/rounds.mjs): every server started, checked with one request and
   * warmed up, then TIMING.rounds rounds measuring each in turn, the order reversed every other round. One
   * table row per scenario, the median of its rounds. Returns the scenarios that failed, with why; the others
   * still report.
   */
  async runRounds(batch) {
    const entries = [];
    const failed = [];
    const fail = (entry, error) => {
      entry.failed = true;
      failed.push({ scenario: entry.scenario, error });
    };
    try {
      for (const scenario of batch) {
        const entry = { scenario, perRound: [] };
        entries.push(entry);
        try {
          const { server, undo } = await this.prepare(scenario);
          entry.undo = undo;
          const { child, ready } = await this.startServer(server, scenario.id);
          entry.child = child;
          entry.stream = this.streamFor(scenario, server, ready);
          await checkStream(entry.stream);
          await this.job({
            serverPid: child.pid,
            duration: TIMING.warmup,
            streams: [entry.stream],
          });
        } catch (error) {
          fail(entry, error);
        }
      }
      for (let round = 0; round < TIMING.rounds; round++) {
        const order = round % 2 ? [...entries].reverse() : entries;
        for (const entry of order.filter((e) => !e.failed)) {
          try {
            entry.perRound.push(await this.measureRound(entry));
          } catch (error) {
            fail(entry, error);
          }
        }
      }
    } finally {
      for (const entry of entries) {
        if (entry.child) await stopChild(entry.child);
        await entry.undo?.();
      }
    }
    for (const { scenario, perRound, failed: broke } of entries) {
      if (broke) continue;
      const measured = { ...combineRounds(perRound), group: scenario.group };
      if (scenario.external) measured.external = scenario.external;
      if (scenario.tokens) measured.tokens = scenario.tokens;
      if (perRound[0].logLines !== undefined) {
        measured.logLines = perRound.reduce((n, r) => n + r.logLines, 0);
        const responses = perRound.reduce((n, r) => n + r.responses, 0);
        measured.note = `${(measured.logLines / Math.max(1, responses)).toFixed(2)} log lines per response`;
      }
      for (const r of perRound) delete r.logLines;
      this.rows.push(measured);
    }
    return failed;
  }

  /**
   * Readies what a row needs outside its server: Redis answering, or a fresh PostgreSQL schema. Throws, failing
   * the row, when the service cannot be reached. Returns the server to start and what undoes the preparation.
   */
  async prepare(scenario) {
    if (scenario.external === 'Redis') await checkRedis(REDIS_URL);
    if (scenario.server.database !== 'postgres')
      return { server: scenario.server, undo: async () => {} };
    await createSchema(POSTGRES_URL, POSTGRES_SCHEMA);
    return {
      server: {
        ...scenario.server,
        database: { type: 'postgres', url: POSTGRES_URL, schema: POSTGRES_SCHEMA },
      },
      undo: () => dropSchema(POSTGRES_URL, POSTGRES_SCHEMA),
    };
  }

  async runScenario(scenario) {
    const { server, undo } = await this.prepare(scenario);
    try {
      await this.runServer(scenario, server);
    } finally {
      await undo();
    }
  }

  async runServer(scenario, server) {
    const { child, ready } = await this.startServer(server, scenario.id);
    try {
      switch (scenario.kind) {
        case 'flood':
          return await this.flood(scenario, child, ready);
        case 'flood-same-client':
          return await this.floodSameClient(scenario, child, ready);
        case 'timing':
          return await this.wrongSecretTiming(scenario, child, ready);
        case 'soak':
          return await this.soak(scenario, child, ready);
      }
    } finally {
      await stopChild(child);
    }
  }

  /**
   * Two legitimate clients at a modest rate (the KDF client whose verification is cached, and a generated-secret
   * client) side by side with a flood of wrong secrets for the KDF client from many connections; meanwhile
   * clients whose KDF secret was never verified (cold) each try once, a second apart.
   */
  async flood(scenario, child, ready) {
    const [kdf, ...cold] = ready.kdf;
    const legit = [
      {
        name: 'legit KDF client (warm)',
        ...tokenRequest(ready, kdf),
        connections: 2,
        overallRate: LEGIT_RATE,
      },
      {
        name: 'legit generated-secret client',
        ...tokenRequest(ready, ready.credentials),
        connections: 2,
        overallRate: LEGIT_RATE,
      },
    ];
    for (const stream of legit) await checkStream(stream);
    await this.job({ serverPid: child.pid, duration: TIMING.warmup, streams: legit });
    const floodStream = {
      name: `flood: wrong secrets, ${FLOOD_CONNECTIONS} connections`,
      ...tokenRequest(ready, kdf),
      connections: FLOOD_CONNECTIONS,
      wrongSecretFor: kdf.clientId,
    };
    const probes = {
      startDelayMs: 1000,
      intervalMs: 1000,
      requests: cold.map((c) => ({ name: c.clientId, ...tokenRequest(ready, c) })),
    };
    const {
      streams,
      probes: probed,
      cpu,
    } = await this.job({
      serverPid: child.pid,
      duration: TIMING.duration,
      streams: [...legit, floodStream],
      probes,
    });
    for (const stream of streams) {
      const r = row(
        {
          ...scenario,
          label: stream.name.startsWith('flood') ? stream.name : `flood: ${stream.name}`,
          ref: undefined,
        },
        stream,
        cpu,
      );
      // Three streams share the server: CPU per response of one of them means nothing.
      r.costMicros = undefined;
      r.note = stream.name.startsWith('legit')
        ? `success ${percent(stream.ok, stream.responses + stream.errors)}`
        : `statuses ${statusMix(stream.statuses)}`;
      this.rows.push(r);
    }
    this.floodResult = {
      legit: streams.slice(0, 2).map((s) => ({
        name: s.name,
        successRate: s.ok / Math.max(1, s.responses + s.errors + s.timeouts),
        ...s,
      })),
      flood: streams[2],
      coldProbes: probed,
      cpu,
    };
  }

  /**
   * The KDF client (verification cache off, so each of its requests derives) and a generated-secret client at a
   * modest rate, each from its own address, while a stranger at another address floods wrong secrets for the
   * KDF client's own id. Throttling and the requester-fair KDF queue are what keep the legitimate ones served.
   */
  async floodSameClient(scenario, child, ready) {
    const [kdf] = ready.kdf;
    const legit = [
      { name: 'legit KDF client (cold), same id as the flood', credentials: kdf },
      { name: 'legit generated-secret client', credentials: ready.credentials },
    ].map(({ name, credentials }, i) => ({
      name,
      ...tokenRequest(ready, credentials),
      connections: 2,
      overallRate: LEGIT_RATE,
      localAddress: LEGIT_ADDRESSES[i],
    }));
    for (const stream of legit) await checkStream(stream);
    await this.job({ serverPid: child.pid, duration: TIMING.warmup, streams: legit });
    const floodStream = {
      name: `flood from ${STRANGER_ADDRESS}: wrong secrets for ${kdf.clientId}, ${FLOOD_CONNECTIONS} connections`,
      ...tokenRequest(ready, kdf),
      connections: FLOOD_CONNECTIONS,
      wrongSecretFor: kdf.clientId,
      localAddress: STRANGER_ADDRESS,
    };
    const { streams, cpu } = await this.job({
      serverPid: child.pid,
      duration: TIMING.duration,
      streams: [...legit, floodStream],
    });
    for (const stream of streams) {
      const isLegit = stream !== streams.at(-1);
      const r = row({ ...scenario, label: `same-id flood: ${stream.name}` }, stream, cpu);
      r.costMicros = undefined;
      r.note = isLegit
        ? `success ${percent(stream.ok, stream.responses + stream.errors + stream.timeouts)}`
        : `statuses ${statusMix(stream.statuses)}`;
      this.rows.push(r);
    }
    this.sameClientFloodResult = {
      legit: streams.slice(0, -1).map((s) => ({
        ...s,
        successRate: s.ok / Math.max(1, s.responses + s.errors + s.timeouts),
      })),
      flood: streams.at(-1),
      cpu,
    };
  }

  /**
   * Wrong secrets for an unknown client id, a generated-secret client and a KDF (scrypt) client, one request at a
   * time TIMING_GAP_MS apart, the three kinds interleaved so that any drift touches each alike. Throttling stays
   * at its defaults: every request comes from a source address of its own (127.10-12.x.y), so none is ever past
   * its free failures and no throttle delay is measured, only the server's own answer (padding included).
   * Times include a fresh connection each, the same for all three.
   */
  async wrongSecretTiming(scenario, child, ready) {
    const kinds = [
      { name: 'unknown client id', clientId: 'bench-no-such-client' },
      { name: 'generated-secret client', clientId: ready.credentials.clientId },
      { name: 'KDF (scrypt) client', clientId: ready.kdf[0].clientId },
    ];
    let sent = 0;
    const series = (count) => {
      const requests = [];
      for (let i = 0; i < count; i++) {
        kinds.forEach((kind, k) => {
          const n = sent++;
          requests.push({
            name: kind.name,
            ...tokenRequest(ready, { clientId: kind.clientId, clientSecret: `wrong-${n}` }),
            localAddress: `127.${10 + k}.${Math.floor(n / 250)}.${(n % 250) + 1}`,
          });
        });
      }
      return { startDelayMs: 0, intervalMs: TIMING_GAP_MS, requests };
    };
    const run = async (count) => {
      const probes = series(count);
      const { probes: results, cpu } = await this.job({
        serverPid: child.pid,
        // Only the job's time-out: a series lasts as long as its requests.
        duration: (probes.requests.length * (TIMING_GAP_MS + 500)) / 1000,
        streams: [],
        probes,
      });
      return { results, cpu };
    };
    await run(3);
    const { results, cpu } = await run(TIMING_SAMPLES);
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const measured = kinds.map((kind) => {
      const mine = results.filter((r) => r.name === kind.name);
      const statuses = {};
      for (const r of mine) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const times = mine.filter((r) => r.status === 401).map((r) => r.ms);
      const sorted = [...times].sort((a, b) => a - b);
      const result = {
        name: kind.name,
        requests: mine.length,
        refused: times.length,
        medianMs: times.length ? median(times) : undefined,
        p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))],
        statuses,
      };
      this.rows.push({
        id: scenario.id,
        label: `wrong secret, ${kind.name} (sequential, p50 = median)`,
        okPerSecond: 0,
        p50: result.medianMs,
        p99: result.p99Ms,
        responses: mine.length,
        non2xx: mine.length,
        errors: mine.filter((r) => r.status === 0).length,
        statuses,
        cpu,
        note: `median of ${times.length} 401s; statuses ${statusMix(statuses)}`,
      });
      return result;
    });
    const medians = measured.map((m) => m.medianMs);
    this.timingResult = {
      samples: TIMING_SAMPLES,
      gapMs: TIMING_GAP_MS,
      kinds: measured,
      spread: medians.every((m) => m > 0) ? Math.max(...medians) / Math.min(...medians) : undefined,
      cpu,
    };
  }

  /** Issuance for TIMING.soak seconds in chunks, with RSS and post-GC heap sampled between them. */
  async soak(scenario, child, ready) {
    const stream = {
      name: scenario.id,
      ...tokenRequest(ready, ready.credentials),
      connections: CONNECTIONS,
    };
    await checkStream(stream);
    const idle = await this.memory(child);
    await this.job({ serverPid: child.pid, duration: TIMING.soakWarmup, streams: [stream] });
    const samples = [{ second: 0, ...(await this.memory(child)) }];
    const chunks = [];
    for (let second = TIMING.soakChunk; second <= TIMING.soak; second += TIMING.soakChunk) {
      const { streams, cpu } = await this.job({
        serverPid: child.pid,
        duration: TIMING.soakChunk,
        streams: [stream],
      });
      chunks.push({
        second,
        okPerSecond: streams[0].okPerSecond,
        p99: streams[0].p99,
        non2xx: streams[0].responses - streams[0].ok,
        cpu: cpu.server,
      });
      samples.push({ second, ...(await this.memory(child)) });
    }
    // RSS swings by tens of MiB as V8 resizes its heap under load: compare the medians of the first and last
    // thirds of the soak rather than two single samples. The post-GC heap is the leak signal for JS objects.
    const mib = (bytes) => bytes / 2 ** 20;
    const third = Math.max(1, Math.floor(samples.length / 3));
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const early = samples.slice(0, third);
    const late = samples.slice(-third);
    const rssEarly = mib(median(early.map((x) => x.rss)));
    const rssLate = mib(median(late.map((x) => x.rss)));
    const heapEarly = mib(median(early.map((x) => x.heapUsed)));
    const heapLate = mib(median(late.map((x) => x.heapUsed)));
    this.soakResult = {
      seconds: TIMING.soak,
      idle,
      samples,
      chunks,
      rssEarlyMiB: rssEarly,
      rssLateMiB: rssLate,
      heapEarlyMiB: heapEarly,
      heapLateMiB: heapLate,
      rssGrowthMiB: rssLate - rssEarly,
      heapGrowthMiB: heapLate - heapEarly,
      // Noise: RSS within max(16 MiB, 10%) and the post-GC heap within 3 MiB.
      stable: rssLate - rssEarly < Math.max(16, rssEarly * 0.1) && heapLate - heapEarly < 3,
    };
  }

  async close() {
    this.load.disconnect();
  }
}

function row(scenario, stream, cpu) {
  return {
    id: scenario.id,
    label: scenario.label,
    ref: scenario.ref,
    peer: scenario.peer ?? false,
    okPerSecond: stream.okPerSecond,
    costMicros:
      cpu?.server === undefined || stream.ok === 0
        ? undefined
        : (cpu.server / 100 / stream.okPerSecond) * 1e6,
    p50: stream.p50,
    p99: stream.p99,
    responses: stream.responses,
    non2xx: stream.responses - stream.ok,
    errors: stream.errors + stream.timeouts,
    statuses: stream.statuses,
    cpu,
  };
}

const percent = (part, whole) =>
  `${((100 * part) / Math.max(1, whole)).toFixed(part === whole ? 0 : 2)}%`;
const statusMix = (statuses) =>
  Object.entries(statuses)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');

/** The algorithms issue 14's per-algorithm targets name, whatever ran. */
const TARGET_ALGORITHMS = ['HS256', 'ES256', 'RS256'];

/**
 * The targets (issue 14's, then the earlier flood, timing, soak and observability ones), each with its status:
 * `met` when this row's ratio to the other reaches `min` by throughput (2xx/s) and by server CPU per request
 * (the inverse ratio of µs/req), `missed` otherwise, `not run` when a row it needs did not run (skipped on
 * purpose, failed, or left out by BENCH_ONLY or quick mode), `context` for a ratio shown but not judged.
 */
function evaluateTargets(rows, bench, { skipped, failures }) {
  const byId = new Map(rows.filter((r) => r.okPerSecond > 0).map((r) => [r.id, r]));
  const whyMissing = (id) =>
    skipped.find((s) => s.ids.includes(id))?.reason ??
    (failures.some((f) => f.id === id) ? 'failed' : 'not in this run');
  const targets = [];
  const notRun = (name, ids) =>
    targets.push({
      name,
      status: 'not run',
      detail: ids.map((id) => `${id}: ${whyMissing(id)}`).join('; '),
    });
  /** Row `ours` against row `theirs`; `throughputOnly` judges by 2xx/s alone (the earlier targets did). */
  const compare = (name, ours, theirs, min, { context = false, throughputOnly = false } = {}) => {
    const [a, b] = [byId.get(ours), byId.get(theirs)];
    if (!a || !b)
      return notRun(
        name,
        [ours, theirs].filter((id) => !byId.has(id)),
      );
    const { ratio, costRatio, range } = compareRows(a, b);
    const met = ratio >= min && (throughputOnly || costRatio === undefined || costRatio >= min);
    const cost = (r) => (r.costMicros === undefined ? '—' : r.costMicros.toFixed(0));
    targets.push({
      name,
      status: context ? 'context' : met ? 'met' : 'missed',
      min,
      ratio,
      range,
      costRatio,
      detail:
        `${ours} ${a.okPerSecond.toFixed(0)} vs ${theirs} ${b.okPerSecond.toFixed(0)} 2xx/s; ` +
        `server CPU ${cost(a)} vs ${cost(b)} µs/req` +
        (range
          ? `; ${a.rounds.length} rounds alternated, ${range.map((n) => n.toFixed(2)).join('–')}× by 2xx/s`
          : '; medians of rows measured apart'),
    });
    return targets.at(-1);
  };
  for (const alg of TARGET_ALGORITHMS) {
    compare(
      `guarded route, fresh tokens, ≥ 0.80× the reference verifier (${alg})`,
      `ours-fastify-verify-${alg}`,
      `ref-verify-${alg}`,
      0.8,
    );
  }
  for (const alg of TARGET_ALGORITHMS) {
    // The stack's own ceiling for the target above: Nest+Fastify and @nestjs/jwt verifying, nothing else.
    compare(
      `bare @nestjs/jwt guard, fresh tokens, against the reference verifier (context: the stack's own ceiling for the target above) (${alg})`,
      `nest-fastify-jwt-guarded-${alg}`,
      `ref-verify-${alg}`,
      0.8,
      { context: true },
    );
    compare(
      `guarded route, fresh tokens, against the bare @nestjs/jwt guard (context: what the library adds to the stack's own verification) (${alg})`,
      `ours-fastify-verify-${alg}`,
      `nest-fastify-jwt-guarded-${alg}`,
      0.8,
      { context: true },
    );
  }
  for (const alg of TARGET_ALGORITHMS) {
    compare(
      `guarded route, ${REUSED_TOKENS} tokens reused, ≥ 0.90× Nest+Fastify hello (${alg})`,
      `ours-fastify-verify-reused-${alg}`,
      'nest-fastify-hello',
      0.9,
    );
  }
  // What Nest alone costs such a route: its guard and param-decorator machinery with nothing to verify.
  compare(
    `Nest+Fastify route behind a guard that always passes, against Nest+Fastify hello (context: the floor of the reused rows)`,
    'nest-fastify-guarded',
    'nest-fastify-hello',
    0.9,
    { context: true },
  );
  for (const alg of TARGET_ALGORITHMS) {
    compare(
      `guarded route, ${REUSED_TOKENS} tokens reused, against the guard that always passes (context: what OAuth adds to Nest's own guard) (${alg})`,
      `ours-fastify-verify-reused-${alg}`,
      'nest-fastify-guarded',
      0.9,
      { context: true },
    );
  }
  for (const alg of TARGET_ALGORITHMS) {
    const min = alg === 'HS256' ? 0.6 : 0.75;
    compare(
      `token issuance ≥ ${min.toFixed(2)}× the reference issuer (${alg})`,
      `ours-fastify-issue-${alg}`,
      `ref-issue-${alg}`,
      min,
    );
  }
  for (const alg of TARGET_ALGORITHMS) {
    compare(
      `token endpoint from the stack's parts alone, against the reference issuer (context: the stack's own ceiling for the target above) (${alg})`,
      `nest-fastify-token-floor-${alg}`,
      `ref-issue-${alg}`,
      alg === 'HS256' ? 0.6 : 0.75,
      { context: true },
    );
    compare(
      `token issuance against the token endpoint from the stack's parts alone (context: what the library adds) (${alg})`,
      `ours-fastify-issue-${alg}`,
      `nest-fastify-token-floor-${alg}`,
      alg === 'HS256' ? 0.6 : 0.75,
      { context: true },
    );
  }
  for (const alg of TARGET_ALGORITHMS) {
    // RS256 is bound by the RSA signature: shown, with the reference's own ratio, but not judged.
    const target = compare(
      `token issuance ≥ 2× oidc-provider (${alg}${alg === 'RS256' ? ': context, not a target' : ''})`,
      `ours-fastify-issue-${alg}`,
      `oidc-issue-${alg}`,
      2,
      { context: alg === 'RS256' },
    );
    const oidc = byId.get(`oidc-issue-${alg}`);
    const versusOidc = (id) => byId.has(id) && oidc && compareRows(byId.get(id), oidc).ratio;
    const ceiling = versusOidc(`ref-issue-${alg}`);
    if (target && ceiling) {
      target.detail += `; the node:http reference itself is ${ceiling.toFixed(2)}× oidc-provider`;
    }
    const floor = versusOidc(`nest-fastify-token-floor-${alg}`);
    if (target && floor) {
      target.detail += `, the token endpoint from the stack's parts alone ${floor.toFixed(2)}×`;
    }
  }
  for (const alg of TARGET_ALGORITHMS.filter((a) => a !== 'HS256')) {
    for (const reused of ['', 'reused-']) {
      compare(
        `resource server guard ≥ 0.95× the local guard, ${reused ? 'reused' : 'fresh'} tokens (${alg})`,
        `ours-fastify-verify-remote-${reused}${alg}`,
        `ours-fastify-verify-${reused}${alg}`,
        0.95,
      );
    }
  }
  compare(
    `private_key_jwt issuance ≥ 0.5× client_secret_basic (${DEFAULT_ALG})`,
    'ours-fastify-issue-private-key-jwt',
    `ours-fastify-issue-${DEFAULT_ALG}`,
    0.5,
  );
  for (const alg of STATE_ALGORITHMS) {
    for (const kind of ['issue', 'verify']) {
      for (const store of ['memory', 'redis']) {
        compare(
          `revocation store (${store === 'redis' ? 'Redis' : 'in memory'}) and throttling on ≥ 0.90× both off: ` +
            `${kind === 'issue' ? 'token issuance' : 'guarded route'} ${alg}`,
          `state-${store}-${kind}-${alg}`,
          `state-off-${kind}-${alg}`,
          0.9,
        );
      }
    }
  }
  for (const alg of EXPRESS_ALGORITHMS) {
    compare(
      `Express guarded route, fresh tokens, ≥ 0.80× Nest+Express hello (${alg})`,
      `ours-express-verify-${alg}`,
      'nest-express-hello',
      0.8,
    );
    compare(
      `bare @nestjs/jwt guard on Express, fresh tokens, against Nest+Express hello (context: the stack's own ceiling for the target above) (${alg})`,
      `nest-express-jwt-guarded-${alg}`,
      'nest-express-hello',
      0.8,
      { context: true },
    );
  }
  for (const [kind, alg] of OBSERVABILITY_ROWS) {
    for (const [mode] of OBSERVABILITY_LOGGERS.filter(([m]) => m === 'on' || kind === 'issue')) {
      compare(
        `events and metrics on${mode === 'pino' ? ' (nestjs-pino)' : ''} cost ≤ 5%: ${kind === 'issue' ? 'token issuance' : 'guarded route'} ${alg}, on ≥ 0.95× off (by 2xx/s)`,
        `observability-${mode}-${kind}-${alg}`,
        `observability-off-${kind}-${alg}`,
        0.95,
        { throughputOnly: true },
      );
    }
  }
  const successes = (legit) =>
    legit
      .map(
        (l) =>
          `${l.name} ${percent(l.ok, l.responses + l.errors + l.timeouts)} of ${l.responses + l.errors + l.timeouts}`,
      )
      .join('; ');
  const floodName = 'legitimate clients during a wrong-secret flood: 100% success';
  if (bench.floodResult) {
    const worst = Math.min(...bench.floodResult.legit.map((l) => l.successRate));
    targets.push({
      name: floodName,
      status: worst === 1 ? 'met' : 'missed',
      ratio: worst,
      min: 1,
      detail: successes(bench.floodResult.legit),
    });
  } else notRun(floodName, ['kdf-flood']);
  const sameName =
    'legitimate clients during a wrong-secret flood on the same client id, cache cold: ≥ 99% success';
  if (bench.sameClientFloodResult) {
    const worst = Math.min(...bench.sameClientFloodResult.legit.map((l) => l.successRate));
    targets.push({
      name: sameName,
      status: worst >= 0.99 ? 'met' : 'missed',
      ratio: worst,
      min: 0.99,
      detail: successes(bench.sameClientFloodResult.legit),
    });
  } else notRun(sameName, ['kdf-flood-same-client']);
  const timingName =
    'wrong-secret median response time alike for unknown id, generated and KDF client (max/min ≤ 1.2)';
  if (bench.timingResult) {
    const { kinds, spread } = bench.timingResult;
    targets.push({
      name: timingName,
      status: spread !== undefined && spread <= 1.2 ? 'met' : 'missed',
      ratio: spread,
      max: 1.2,
      detail: kinds
        .map(
          (k) => `${k.name} ${k.medianMs?.toFixed(2) ?? '—'} ms (${k.refused}/${k.requests} 401)`,
        )
        .join('; '),
    });
  } else notRun(timingName, ['wrong-secret-timing']);
  const soakName = `memory flat over a ${TIMING.soak} s issuance soak`;
  if (bench.soakResult) {
    const k = bench.soakResult;
    targets.push({
      name: soakName,
      status: k.stable ? 'met' : 'missed',
      detail:
        `median RSS of the first vs last third ${k.rssEarlyMiB.toFixed(1)} → ${k.rssLateMiB.toFixed(1)} MiB, ` +
        `post-GC heap ${k.heapEarlyMiB.toFixed(1)} → ${k.heapLateMiB.toFixed(1)} MiB`,
    });
  } else notRun(soakName, ['soak']);
  return targets;
}

/**
 * The scenarios in the batches they run in: consecutive throughput rows of one group together (measured in
 * alternated rounds), every other scenario alone.
 */
function batches(list) {
  const out = [];
  for (const scenario of list) {
    const last = out.at(-1);
    const joins =
      scenario.group !== undefined &&
      last?.[0].group === scenario.group &&
      ROUND_KINDS.has(scenario.kind) &&
      ROUND_KINDS.has(last[0].kind);
    if (joins) last.push(scenario);
    else out.push([scenario]);
  }
  return out;
}

/** CPUs' worth of work the rest of the machine does, over `seconds`. */
async function foreignLoad(seconds) {
  const before = systemCpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = systemCpuSeconds();
  return before && after ? (after.busy - before.busy) / seconds : 0;
}

/**
 * Other work on two cores skews every number: wait a bounded time for it to stop, and record what was seen.
 * The per-row CPU columns still show any interference during the run.
 */
async function waitForQuiet() {
  let load = await foreignLoad(2);
  const waitUntil = Date.now() + QUIET_WAIT_S * 1000;
  if (load > 0.25)
    console.log(
      `bench: the machine is busy (${load.toFixed(2)} CPUs in use); waiting up to ${QUIET_WAIT_S} s`,
    );
  while (load > 0.25 && Date.now() < waitUntil) load = await foreignLoad(5);
  if (load > 0.25)
    console.log(`bench: still busy (${load.toFixed(2)} CPUs in use): numbers will be noisy`);
  return Number(load.toFixed(2));
}

/** Between scenarios, other work gets a short, bounded chance to finish (2 × BENCH_QUIET_WAIT in all). */
let settleBudgetMs = QUIET_WAIT_S * 2 * 1000;
async function settle() {
  const started = Date.now();
  while (settleBudgetMs > 0 && (await foreignLoad(0.5)) > 0.25) {
    settleBudgetMs -= 500;
  }
  return Math.round((Date.now() - started) / 1000);
}

async function main() {
  const started = Date.now();
  let [usesRedis, usesPostgres] = [false, false];
  const deadline = setTimeout(() => {
    console.error(`bench: past its ${DEADLINE_MS / 60_000} min deadline, stopping`);
    // What the run left in Redis and PostgreSQL goes too, within a few seconds.
    const exit = () => process.exit(2);
    setTimeout(exit, 5000).unref();
    Promise.allSettled([
      usesRedis && deleteRedisKeys(REDIS_URL, REDIS_PREFIX),
      usesPostgres && dropSchema(POSTGRES_URL, POSTGRES_SCHEMA),
    ]).then(exit);
  }, DEADLINE_MS);
  deadline.unref();

  const busyAtStart = await waitForQuiet();
  const machine = { ...describeMachine(), busyAtStart };
  const bench = new Bench();
  machine.pinning = bench.pinned
    ? `server on CPU ${CORES.server}, load generator and orchestrator on CPU ${CORES.load} (taskset)`
    : 'none (taskset missing or a single CPU): server and load generator share the machine';
  const { list, skipped } = scenarios();
  usesRedis = list.some((s) => s.external === 'Redis');
  usesPostgres = list.some((s) => s.external === 'PostgreSQL');
  // Minted before the first row, so no row waits for RSA signatures mid-run.
  for (const scenario of list) {
    if (scenario.kind === 'verify' || scenario.tokens) {
      bench.tokenPool(scenario.server.algorithm ?? DEFAULT_ALG);
    }
  }
  console.log(
    `bench: ${list.length} scenarios; throughput rows in ${TIMING.rounds} alternated rounds of ` +
      `${TIMING.round} s after ${TIMING.warmup} s warm-up${QUICK ? ' (quick)' : ''}; ${machine.pinning}`,
  );
  const failures = [];
  const failed = (scenario, error) => {
    console.log(`  ${scenario.id}: FAILED`);
    console.error(error?.stack ?? String(error));
    failures.push({ id: scenario.id, error: String(error?.message ?? error).split('\n')[0] });
  };
  try {
    for (const batch of batches(list)) {
      const waited = await settle();
      const t0 = Date.now();
      const what =
        batch.length > 1 ? `group ${batch[0].group}: ${batch.length} rows` : batch[0].label;
      process.stdout.write(`  ${what}${waited > 1 ? ` (waited ${waited} s for quiet)` : ''} … `);
      if (ROUND_KINDS.has(batch[0].kind)) {
        const broke = await bench.runRounds(batch);
        console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s`);
        for (const scenario of batch) {
          const problem = broke.find((f) => f.scenario === scenario);
          if (problem) failed(scenario, problem.error);
          else {
            const r = bench.rows.findLast((x) => x.id === scenario.id);
            const rates = r.rounds.map((x) => x.okPerSecond.toFixed(0)).join(' / ');
            console.log(`    ${scenario.id}: ${r.okPerSecond.toFixed(0)} req/s (rounds ${rates})`);
          }
        }
        continue;
      }
      const [scenario] = batch;
      try {
        await bench.runScenario(scenario);
        console.log(
          scenario.kind === 'soak'
            ? `done (${((Date.now() - t0) / 1000).toFixed(0)} s)`
            : scenario.kind === 'timing'
              ? `medians ${bench.timingResult?.kinds.map((k) => k.medianMs?.toFixed(2)).join(' / ')} ms`
              : 'done',
        );
      } catch (error) {
        failed(scenario, error);
      }
    }
  } finally {
    await bench.close();
    if (usesRedis) {
      await deleteRedisKeys(REDIS_URL, REDIS_PREFIX).catch((error) =>
        console.error(`bench: could not delete the Redis keys ${REDIS_PREFIX}*: ${error.message}`),
      );
    }
  }
  machine.loadAverageAtEnd = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  machine.elapsedSeconds = Math.round((Date.now() - started) / 1000);

  const rows = bench.rows;
  for (const r of rows) {
    const reference = rows.find((x) => x.id === r.ref);
    if (reference) {
      const { ratio, range } = compareRows(r, reference);
      r.ratio = ratio;
      if (range) r.ratioRange = range;
    }
  }
  const name = QUICK ? 'quick' : ONLY ? 'partial' : 'latest';
  const results = {
    chart: `${name}.svg`,
    // The variables that shaped this run, as a command line to repeat it.
    command: [
      ...[
        'BENCH_QUICK',
        'BENCH_ONLY',
        'BENCH_PROFILE',
        'BENCH_DEFAULT_ALG',
        'BENCH_REDIS_URL',
        'BENCH_POSTGRES_URL',
      ]
        .filter((name) => process.env[name])
        .map((name) => {
          const value = process.env[name];
          // A URL's password stays out of the results.
          return `${name}=${name.endsWith('_URL') && value !== 'off' ? redact(value) : value}`;
        }),
      'npm run bench',
    ].join(' '),
    machine,
    settings: {
      quick: QUICK,
      defaultAlgorithm: DEFAULT_ALG,
      algorithms: ALGORITHMS,
      connections: CONNECTIONS,
      floodConnections: FLOOD_CONNECTIONS,
      legitRate: LEGIT_RATE,
      ...TIMING,
      freshTokens: FRESH_TOKENS,
      reusedTokens: REUSED_TOKENS,
      revocations: REVOCATIONS,
      redis: REDIS_URL === 'off' ? 'off' : redact(REDIS_URL),
      postgres: POSTGRES_URL === 'off' ? 'off' : redact(POSTGRES_URL),
    },
    rows,
    flood: bench.floodResult,
    sameClientFlood: bench.sameClientFloodResult,
    wrongSecretTiming: bench.timingResult,
    soak: bench.soakResult,
    targets: evaluateTargets(rows, bench, { skipped, failures }),
    skipped,
    failures,
  };
  printTable(results);
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });

  writeFileSync(join(out, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(out, `${name}.md`), renderMarkdown(results));
  renderChartFile(join(out, `${name}.json`));
  console.log(
    `\nbench: wrote bench/results/${name}.md, ${name}.json and ${name}.svg in ${machine.elapsedSeconds} s`,
  );
  if (failures.length) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
