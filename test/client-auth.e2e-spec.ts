import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  Body,
  Catch,
  Controller,
  HttpException,
  type ArgumentsHost,
  type ExceptionFilter,
  Get,
  Injectable,
  Post,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { PassportStrategy } from '@nestjs/passport';
import CustomStrategy from 'passport-custom';
import request from 'supertest';
import {
  AuthenticatedClient,
  ClientAuthGuard,
  InMemoryOAuthClientRepository,
  OAuth2Error,
  OAuth2Module,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2HttpRequest,
} from '../src/index.js';
import { seedClients, startApp, type Platform } from './support/app.js';
import { testOptions } from './support/fixtures.js';
import {
  CLIENTS,
  expectInvalidClient,
  expectTokenError,
  GRANT,
  TEST_BASIC,
  tokenRequest,
} from './support/oauth.js';

const THUMBPRINT_HEADER = 'x-client-cert-thumbprint';
/** What the TLS-terminating proxy would have verified: certificate thumbprints of registered clients. */
const CERTIFICATES: Readonly<Record<string, string>> = {
  kF2x0cT9bVwq4vZ1nM8rJ3hY6pL5sD7gA0eQ2uX4iW8: 'testclient',
};

/**
 * A host app's own client authentication method (RFC 8705 §2.1's tls_client_auth, with the certificate checked
 * by a TLS-terminating proxy that forwards its thumbprint): a Passport strategy that resolves to the client.
 */
function thumbprintStrategy(name: string) {
  @Injectable()
  class ClientCertificateStrategy extends PassportStrategy(CustomStrategy, name) {
    constructor(private readonly clients: OAuthClientRepository) {
      super();
    }

    async validate(request: OAuth2HttpRequest): Promise<OAuthClient> {
      const clientId = CERTIFICATES[String(request.headers[THUMBPRINT_HEADER])];
      const client = clientId === undefined ? null : await this.clients.findById(clientId);
      if (!client) throw OAuth2Error.invalidClient();
      return client;
    }
  }
  return ClientCertificateStrategy;
}

/** A route of the host app that takes client credentials through the module's guard. */
@Controller('host')
class ClientEchoController {
  @Post('whoami')
  @UseGuards(ClientAuthGuard)
  whoami(@AuthenticatedClient() client: OAuthClient) {
    return { client_id: client.clientId };
  }
}

describe.each<Platform>(['express', 'fastify'])(
  'client authentication methods (%s)',
  (platform) => {
    let app: INestApplication;
    const strategy = `tls-thumbprint-${platform}`;

    beforeAll(async () => {
      const clients = new InMemoryOAuthClientRepository();
      app = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...testOptions({
                clientAuthMethods: [
                  {
                    name: 'tls_client_auth',
                    strategy,
                    isPresentIn: (req) => req.headers[THUMBPRINT_HEADER] !== undefined,
                  },
                ],
              }),
              clientRepository: { useValue: clients },
              isGlobal: true,
            }),
          ],
          controllers: [ClientEchoController],
          providers: [thumbprintStrategy(strategy)],
        },
        { platform },
      );
      await seedClients(app, [CLIENTS.test]);
    });
    afterAll(() => app.close());

    const withCertificate = (thumbprint: string) =>
      tokenRequest(app).set(THUMBPRINT_HEADER, thumbprint);

    test('a custom method listed in clientAuthMethods authenticates through its Passport strategy', async () => {
      const res = await withCertificate(Object.keys(CERTIFICATES)[0]).send(GRANT);
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    });

    test('its refusal is the same 401 invalid_client as any other', async () => {
      expectInvalidClient(await withCertificate('unknown-thumbprint').send(GRANT));
    });

    test('its credentials next to Basic are two methods: 400 invalid_request (RFC 6749 §2.3)', async () => {
      const res = await withCertificate(Object.keys(CERTIFICATES)[0])
        .set('Authorization', TEST_BASIC)
        .send(GRANT);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('the built-in methods keep working beside it', async () => {
      expect((await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).status).toBe(
        200,
      );
    });

    test('ClientAuthGuard and @AuthenticatedClient() protect a host route with client credentials', async () => {
      const ok = await request(app.getHttpServer())
        .post('/host/whoami')
        .set('Authorization', TEST_BASIC)
        .type('form')
        .send('');
      expect({ status: ok.status, body: ok.body }).toEqual({
        status: 201,
        body: { client_id: 'testclient' },
      });
    });
  },
);

/** A host app's own routes: a body too large for its parser, a crash, a JSON body. */
@Controller('host')
class HostController {
  @Post('echo')
  echo(@Body() body: unknown) {
    return body;
  }

  @Get('crash')
  crash(): never {
    throw new Error('the host app failed');
  }
}

describe.each<Platform>(['express', 'fastify'])(
  "the host app's own routes answer as without the module (%s)",
  (platform) => {
    let withModule: INestApplication;
    let without: INestApplication;

    beforeAll(async () => {
      withModule = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...testOptions(),
              clientRepository: { useValue: new InMemoryOAuthClientRepository() },
            }),
          ],
          controllers: [HostController],
        },
        { platform },
      );
      without = await startApp({ controllers: [HostController] }, { platform });
    });
    afterAll(async () => {
      await withModule.close();
      await without.close();
    });

    const answers = async (send: (app: INestApplication) => request.Test) => {
      const [a, b] = await Promise.all([send(withModule), send(without)]);
      return [a, b].map((res) => ({
        status: res.status,
        type: res.headers['content-type'],
        body: res.text,
        challenge: res.headers['www-authenticate'],
        cacheControl: res.headers['cache-control'],
      }));
    };

    test('a body over the platform limit: the same 413', async () => {
      const big = { padding: 'x'.repeat(2 * 1024 * 1024) };
      const [ours, theirs] = await answers((app) =>
        request(app.getHttpServer()).post('/host/echo').send(big),
      );
      expect(ours.status).toBe(413);
      expect(ours).toEqual(theirs);
    });

    test('a form body over the platform limit: the same 413 (the token path alone answers in OAuth form)', async () => {
      const [ours, theirs] = await answers((app) =>
        request(app.getHttpServer())
          .post('/host/echo')
          .type('form')
          .send(`padding=${'x'.repeat(2 * 1024 * 1024)}`),
      );
      expect(ours.status).toBe(413);
      expect(ours).toEqual(theirs);
    });

    test('an error of the host: the same 500', async () => {
      const [ours, theirs] = await answers((app) =>
        request(app.getHttpServer()).get('/host/crash'),
      );
      expect(ours.status).toBe(500);
      expect(ours).toEqual(theirs);
    });

    test('a route the host does not have: the same 404', async () => {
      const [ours, theirs] = await answers((app) => request(app.getHttpServer()).get('/host/none'));
      expect(ours.status).toBe(404);
      expect(ours).toEqual(theirs);
    });
  },
);

/** A host app that renders every error its own way, through an app-wide filter of its own. */
@Catch()
class HostCatchAllFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const status = error instanceof HttpException ? error.getStatus() : 500;
    const response = host.switchToHttp().getResponse();
    const reply = response.status ? response.status(status) : response.code(status);
    reply.send({ host_error: status });
  }
}

describe.each<Platform>(['express', 'fastify'])(
  "a host app's own app-wide filter keeps rendering its routes' errors (%s)",
  (platform) => {
    let app: INestApplication;

    beforeAll(async () => {
      app = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...testOptions(),
              clientRepository: { useValue: new InMemoryOAuthClientRepository() },
            }),
          ],
          controllers: [HostController],
          providers: [{ provide: APP_FILTER, useClass: HostCatchAllFilter }],
        },
        { platform },
      );
    });
    afterAll(() => app.close());

    test('a body-parser refusal on a host route reaches the host filter', async () => {
      const res = await request(app.getHttpServer())
        .post('/host/echo')
        .send({ padding: 'x'.repeat(2 * 1024 * 1024) });
      expect({ status: res.status, body: res.body }).toEqual({
        status: 413,
        body: { host_error: 413 },
      });
    });

    test('an error of a host route reaches the host filter', async () => {
      const res = await request(app.getHttpServer()).get('/host/crash');
      expect(res.body).toEqual({ host_error: 500 });
    });

    test('the token path still answers in OAuth form, the token controller filter being nearer', async () => {
      expectInvalidClient(await tokenRequest(app).send(GRANT));
    });
  },
);
