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
//   node bench/servers/nest.mjs <fastify|express> <oauth|hello|guarded|jwt-guarded|token-floor|resource>
import 'reflect-metadata';
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BadRequestException,
  Body,
  ConsoleLogger,
  Controller,
  createParamDecorator,
  Get,
  Header,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { BasicStrategy } from 'passport-http';
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
/** The whoami route behind `guard`, which leaves the principal for BenchPrincipal. */
function benchGuardedController(guard) {
  class BenchGuardedController {
    whoami(principal) {
      return whoamiOf(principal);
    }
  }
  BenchPrincipal()(BenchGuardedController.prototype, 'whoami', 0);
  Reflect.defineMetadata('design:paramtypes', [Object], BenchGuardedController.prototype, 'whoami');
  decorateMethod(BenchGuardedController, 'whoami', [Get('whoami')]);
  Reflect.decorate([Controller('api'), UseGuards(guard)], BenchGuardedController);
  return BenchGuardedController;
}

/**
 * Mode `jwt-guarded`: the whoami route behind the cheapest bearer-JWT guard this stack allows, no OAuth library:
 * @nestjs/jwt's JwtService built with the run's key and every verify option (the algorithm, iss, aud), so that
 * `verify(token)` takes no per-call options, the principal read from the claims. No `kid` selection, no RFC
 * 9068 profile checks, no revocation, scope check or verified-token cache: what Nest+Fastify and @nestjs/jwt
 * alone cost a request presenting a token never seen before (the fresh rows' floor in this stack).
 */
class JwtGuard {
  constructor() {
    this.jwt = new JwtService({
      publicKey: runKey('public'),
      verifyOptions: {
        algorithms: [config.algorithm],
        issuer: config.issuer,
        audience: config.audience,
      },
    });
  }
  canActivate(context) {
    const request = context.switchToHttp().getRequest();
    const [scheme, token] = (request.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || !token) return false;
    const claims = this.jwt.verify(token);
    request.benchPrincipal = {
      clientId: claims.client_id,
      subject: claims.sub,
      scopes: claims.scope.split(' '),
    };
    return true;
  }
}

/** The run's key for signing (`token-floor`) or verifying (`jwt-guarded`), as a KeyObject. */
function runKey(half) {
  const material = materialFor(config.keys, config.algorithm);
  if (config.algorithm.startsWith('HS'))
    return createSecretKey(Buffer.from(material.secret, 'base64url'));
  const privateKey = createPrivateKey(material.privateKey);
  return half === 'private' ? privateKey : createPublicKey(privateKey);
}

/**
 * Mode `token-floor`: a token endpoint built from this stack's parts alone, no OAuth library (the issuance
 * rows' floor). @nestjs/passport's AuthGuard with passport-http's BasicStrategy, whose callback checks the
 * secret against the reference's keyed digest (HMAC-SHA256 with the pepper, compared in constant time; the
 * client in a Map); the form parsed by the FastifyAdapter's own parser; grant type and scope checked; the
 * reference's claims signed by a JwtService built with the run's key and sign options (`sign(payload)`, no
 * per-call options). No storage, throttling, events, metrics, error rendering or checks beyond those.
 */
const floorPepper = Buffer.from(config.pepper ?? '', 'base64url');
const floorDigest = (secret) => createHmac('sha256', floorPepper).update(secret, 'utf8').digest();
const floorSecret = randomBytes(32).toString('base64url');
const floorClients = new Map([
  ['bench-client', { digest: floorDigest(floorSecret), scopes: new Set(config.scope?.split(' ')) }],
]);
class FloorBasicStrategy extends PassportStrategy(BasicStrategy, 'floor-basic') {
  validate(clientId, secret) {
    const client = floorClients.get(clientId);
    return client && timingSafeEqual(floorDigest(secret), client.digest)
      ? { id: clientId, scopes: client.scopes }
      : false;
  }
}
Reflect.decorate([Injectable()], FloorBasicStrategy);
class FloorTokenController {
  constructor() {
    const kid = jwsFor(config.keys, config.algorithm).kid;
    this.jwt = new JwtService({
      privateKey: runKey('private'),
      signOptions: {
        algorithm: config.algorithm,
        header: { alg: config.algorithm, typ: 'at+jwt', ...(kid ? { kid } : {}) },
      },
    });
  }
  token(request, body) {
    const client = request.user;
    if (body?.grant_type !== 'client_credentials')
      throw new BadRequestException({ error: 'unsupported_grant_type' });
    const scopes = body.scope ? body.scope.split(' ') : [...client.scopes];
    if (!scopes.every((scope) => client.scopes.has(scope)))
      throw new BadRequestException({ error: 'invalid_scope' });
    const iat = Math.floor(Date.now() / 1000);
    const scope = scopes.join(' ');
    const payload = {
      client_id: client.id,
      scope,
      iat,
      exp: iat + 3600,
      aud: config.audience,
      iss: config.issuer,
      sub: client.id,
      jti: randomUUID(),
    };
    return {
      access_token: this.jwt.sign(payload),
      token_type: 'Bearer',
      expires_in: 3600,
      scope,
    };
  }
}
Req()(FloorTokenController.prototype, 'token', 0);
Body()(FloorTokenController.prototype, 'token', 1);
Reflect.defineMetadata(
  'design:paramtypes',
  [Object, Object],
  FloorTokenController.prototype,
  'token',
);
decorateMethod(FloorTokenController, 'token', [
  Post('token'),
  HttpCode(200),
  Header('Cache-Control', 'no-store'),
  Header('Pragma', 'no-cache'),
  UseGuards(AuthGuard('floor-basic')),
]);
Reflect.decorate([Controller('oauth2')], FloorTokenController);

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
        ? { controllers: [benchGuardedController(PassingGuard)] }
        : mode === 'jwt-guarded'
          ? { controllers: [benchGuardedController(JwtGuard)] }
          : mode === 'token-floor'
            ? { controllers: [FloorTokenController], providers: [FloorBasicStrategy] }
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
                      ...(observability === 'off'
                        ? { eventSink: { useValue: { emit() {} } } }
                        : {}),
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
  const seeded =
    mode === 'oauth'
      ? await seed(app)
      : mode === 'token-floor'
        ? { credentials: { clientId: 'bench-client', clientSecret: floorSecret } }
        : {};
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
