// The library under test, wired as an application would wire it: OAuth2Module.forRoot() with TypeORM on a SQLite
// file (better-sqlite3), clients stored through the module's own repository and hasher, and a resource route
// guarded by OAuth2Guard with a required scope. Mode `hello` is the same Nest app without the module: the
// framework's own ceiling on this machine. Mode `resource` is a service on OAuth2ResourceServerModule: the same
// guarded route, its keys fetched from a JWKS this process serves on another port (the tokens presented are
// the orchestrator's, signed with the run's key as the issuer would). config.database, when set, replaces the
// SQLite file (PostgreSQL, in a schema the orchestrator created); config.revocations seeds the revocation
// store after start. Plain JavaScript, so decorators are applied with Reflect.decorate.
//
// Observability (config.observability): 'on' installs an OpenTelemetry SDK MeterProvider before the app is
// created (a periodic reader every 10 s, to an exporter that drops what it is given) and gives the app a JSON
// ConsoleLogger, so the default event sink writes its audit lines to stdout (a pipe the orchestrator drains,
// as a container runtime's log collector would); 'pino' is 'on' with nestjs-pino as the app's logger instead
// (its LoggerModule, pino's default destination: sonic-boom on fd 1, asynchronous); 'off' is the no-op metrics
// and an event sink that drops. Unset: as an app without either configured (no SDK, Nest's logger off).
//
//   node bench/servers/nest.mjs <fastify|express> <oauth|hello|guarded|resource>
import 'reflect-metadata';
import { createPublicKey, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConsoleLogger,
  Controller,
  createParamDecorator,
  Get,
  Module,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ClientSecretHasher,
  OAuth2Guard,
  OAuth2Module,
  OAuth2ResourceServerModule,
  OAuth2Revocations,
  OAuth2RevocationStore,
  oauth2Entities,
  OAuthClient,
  OAuthClientRepository,
  OAuthPrincipal,
  Scopes,
} from '../../dist/index.js';
import { clientJwks, jwsFor, materialFor, signingOptions } from '../lib/keys.mjs';
import { benchConfig, dieOn, reportReady, serveIpc } from '../lib/server-ipc.mjs';

const [platform = 'fastify', mode = 'oauth'] = process.argv.slice(2);
const config = benchConfig();
const observability = config.observability;

function decorateMethod(target, name, decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  Object.defineProperty(
    target.prototype,
    name,
    Reflect.decorate(decorators, target.prototype, name, descriptor),
  );
}

class HelloController {
  hello() {
    return { ok: true };
  }
}
decorateMethod(HelloController, 'hello', [Get('hello')]);
Reflect.decorate([Controller('api')], HelloController);

/** What the example app's /api/whoami answers. */
const whoamiOf = (principal) => ({
  client_id: principal.clientId,
  sub: principal.subject,
  scope: principal.scopes.join(' '),
});

/** The example app's /api/whoami, behind a scope. */
class WhoamiController {
  whoami(principal) {
    return whoamiOf(principal);
  }
}
OAuthPrincipal()(WhoamiController.prototype, 'whoami', 0);
Reflect.defineMetadata('design:paramtypes', [Object], WhoamiController.prototype, 'whoami');
decorateMethod(WhoamiController, 'whoami', [Get('whoami'), Scopes('bench:read')]);
Reflect.decorate([Controller('api'), UseGuards(OAuth2Guard)], WhoamiController);

/**
 * Mode `guarded`: the whoami route behind a guard of Nest's that always passes and a param decorator of its own,
 * no OAuth: what Nest itself costs a guarded route that reads a principal (the floor of the reused-token rows).
 */
const BENCH_PRINCIPAL = Object.freeze({
  clientId: 'bench-client',
  subject: 'bench-client',
  scopes: Object.freeze(['bench:read']),
});
class PassingGuard {
  canActivate(context) {
    context.switchToHttp().getRequest().benchPrincipal = BENCH_PRINCIPAL;
    return true;
  }
}
const BenchPrincipal = createParamDecorator(
  (_data, context) => context.switchToHttp().getRequest().benchPrincipal,
);
class NoopGuardedController {
  whoami(principal) {
    return whoamiOf(principal);
  }
}
BenchPrincipal()(NoopGuardedController.prototype, 'whoami', 0);
Reflect.defineMetadata('design:paramtypes', [Object], NoopGuardedController.prototype, 'whoami');
decorateMethod(NoopGuardedController, 'whoami', [Get('whoami')]);
Reflect.decorate([Controller('api'), UseGuards(PassingGuard)], NoopGuardedController);

const dataDir =
  mode === 'oauth' && !config.database ? mkdtempSync(join(tmpdir(), 'oauth2-bench-')) : undefined;

/** The run's public key as a one-key JWK Set, served on loopback: what the issuer's jwks_uri would answer. */
async function serveJwks() {
  const jwks = {
    keys: [
      {
        ...createPublicKey(materialFor(config.keys, config.algorithm).privateKey).export({
          format: 'jwk',
        }),
        kid: jwsFor(config.keys, config.algorithm).kid,
        alg: config.algorithm,
        use: 'sig',
      },
    ],
  };
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/jwks` };
}

function appModule(jwksUri) {
  class AppModule {}
  const metadata =
    mode === 'hello'
      ? { controllers: [HelloController] }
      : mode === 'guarded'
        ? { controllers: [NoopGuardedController] }
        : mode === 'resource'
          ? {
              imports: [
                OAuth2ResourceServerModule.forRoot({
                  issuer: config.issuer,
                  audience: config.audience,
                  jwksUri,
                }),
              ],
              controllers: [WhoamiController],
            }
          : {
              imports: [
                TypeOrmModule.forRoot({
                  ...(config.database ?? {
                    type: 'better-sqlite3',
                    database: join(dataDir, 'clients.sqlite'),
                  }),
                  entities: oauth2Entities(),
                  synchronize: true,
                }),
                OAuth2Module.forRoot({
                  issuer: config.issuer,
                  audience: config.audience,
                  signing: signingOptions(config.keys, config.algorithm),
                  secretPepper: Buffer.from(config.pepper, 'base64url'),
                  ...config.moduleOptions,
                  ...(observability === 'off' ? { eventSink: { useValue: { emit() {} } } } : {}),
                }),
                ...(observability === 'pino' ? [pinoLoggerModule()] : []),
              ],
              controllers: [WhoamiController],
            };
  Reflect.decorate([Module(metadata)], AppModule);
  return AppModule;
}

/**
 * nestjs-pino as the README's "Logs" sets it up: `LoggerModule.forRoot()` with pino's defaults (level info,
 * sonic-boom on stdout, asynchronous), and the `logMethod` hook that merges a Nest log call's fields into the
 * line (without it pino drops them: nestjs-pino hands them over as format arguments for a message with no
 * `%` placeholder, and the audit line would be its sentence alone). pino-http's own line per request is off:
 * it is the app's, not the module's, and would double the lines and dilute the sink's share of the profile.
 */
let pinoLogger;
function pinoLoggerModule() {
  return pinoLogger.LoggerModule.forRoot({
    pinoHttp: {
      autoLogging: false,
      hooks: {
        logMethod(args, method) {
          const [bindings, message, fields] = args;
          // Object.assign, not a spread: `{ ...bindings, ...fields }` made pino's line about 9 µs dearer.
          return typeof message === 'string' && typeof fields === 'object' && fields !== null
            ? method.call(this, Object.assign({}, bindings, fields), message)
            : method.apply(this, args);
        },
      },
    },
  });
}

/**
 * An OpenTelemetry SDK as an app installs it, before the Nest app: a MeterProvider whose periodic reader
 * collects every 10 s and hands the metrics to an exporter that drops them (the export itself is not ours).
 */
async function installMeterProvider() {
  const { metrics } = await import('@opentelemetry/api');
  const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } =
    await import('@opentelemetry/sdk-metrics');
  const exporter = {
    export: (_metrics, done) => done({ code: 0 }),
    forceFlush: async () => {},
    shutdown: async () => {},
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  };
  const provider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 10_000 })],
  });
  metrics.setGlobalMeterProvider(provider);
  return provider;
}

async function createApp(jwksUri) {
  // With observability on, Nest's logger writes JSON lines to stdout: the audit events among them.
  const options =
    observability === 'pino'
      ? { bufferLogs: true }
      : {
          logger: observability === 'on' ? new ConsoleLogger({ json: true, colors: false }) : false,
        };
  let app;
  if (platform === 'express') app = await NestFactory.create(appModule(jwksUri), options);
  else {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(appModule(jwksUri), new FastifyAdapter(), options);
  }
  if (observability === 'pino') app.useLogger(app.get(pinoLogger.Logger));
  return app;
}

/** Registers the bench's clients in the database, the way the CLI or an admin tool would. */
async function seed(app) {
  const clients = app.get(OAuthClientRepository);
  const hasher = app.get(ClientSecretHasher);
  const scope = config.scope;
  const grantTypes = 'client_credentials';
  const generated = hasher.createSecret();
  await clients.save(
    OAuthClient.create({
      clientId: 'bench-client',
      clientSecret: generated.hash,
      grantTypes,
      scope,
    }),
  );
  const credentials = { clientId: 'bench-client', clientSecret: generated.secret };
  // Chosen secrets, stored with the KDF (scrypt): as many clients as the scenario asks for.
  const kdf = [];
  for (let i = 0; i < Math.max(1, config.kdfClients ?? 1); i++) {
    const clientId = i === 0 ? 'bench-kdf' : `bench-kdf-${i}`;
    const clientSecret = `chosen passphrase number ${i}`;
    await clients.save(
      OAuthClient.create({
        clientId,
        clientSecret: await hasher.hash(clientSecret),
        grantTypes,
        scope,
      }),
    );
    kdf.push({ clientId, clientSecret });
  }
  // A private_key_jwt client: no secret, its public key registered inline.
  await clients.save(
    OAuthClient.create({
      clientId: 'bench-pkjwt',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: JSON.stringify(clientJwks(config.keys)),
      grantTypes,
      scope,
    }),
  );
  return { credentials, kdf, assertionClientId: 'bench-pkjwt' };
}

/**
 * Revocations an issuer in service holds, recorded through the module's API as the CLI and an admin tool do:
 * `revocations.tokens` revoked access tokens (RFC 7009, unknown jtis) and `revocations.clients` clients whose
 * tokens were all revoked, none of them the bench's clients. With `store: { redis }` they are written to Redis.
 */
async function seedRevocations(app, { tokens, clients }) {
  const store = app.get(OAuth2RevocationStore);
  const revocations = app.get(OAuth2Revocations);
  const expiresAt = Date.now() + 3600_000;
  for (let i = 0; i < tokens; i++)
    await store.revoke({ kind: 'token', jti: randomUUID(), expiresAt });
  for (let i = 0; i < clients; i++) await revocations.revokeClientTokens(`bench-revoked-${i}`);
}

async function main() {
  if (observability === 'pino') pinoLogger = await import('nestjs-pino');
  const meterProvider =
    observability === 'on' || observability === 'pino' ? await installMeterProvider() : undefined;
  const jwks = mode === 'resource' ? await serveJwks() : undefined;
  const app = await createApp(jwks?.url);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const seeded = mode === 'oauth' ? await seed(app) : {};
  if (config.revocations) await seedRevocations(app, config.revocations);
  reportReady(port, seeded);
  serveIpc(async () => {
    await app.close();
    await meterProvider?.shutdown();
    jwks?.server.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
}

dieOn(main());
