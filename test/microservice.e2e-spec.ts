import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { Controller, UseGuards, type INestMicroservice } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
  type ReadPacket,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { createServer, type AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { OAuth2Guard, OAuth2Public, OAuthPrincipal, Scopes } from '../src/index.js';
import { tokenClaims } from './support/fixtures.js';
import { signRaw } from './support/jwt.js';
import { otherEs256 } from './support/keys.js';
import { rejectionOf } from './support/thrown.js';
import {
  guardPlacements,
  inMemoryOAuth2Module,
  recordVerifications,
  testAccessToken,
} from './support/transports.js';

const SCOPE_DESCRIPTION = 'The access token does not grant the scope this resource requires';

/**
 * Message handlers as an app writes them, with the decorators of an HTTP controller: behind `@UseGuards` on
 * the class, or for a global guard (APP_GUARD).
 */
function reportsHandlers(guarded: boolean) {
  @Controller()
  @UseGuards(...(guarded ? [OAuth2Guard] : []))
  class ReportsHandlers {
    @MessagePattern('whoami')
    whoami(@OAuthPrincipal() caller: OAuthPrincipal) {
      return { client_id: caller.clientId, scopes: caller.scopes };
    }

    @MessagePattern('reports.archive')
    @Scopes('reports:write')
    archive(@OAuthPrincipal('clientId') clientId: string, @Payload('id') id: number) {
      return { archived: id, by: clientId };
    }

    @MessagePattern('ping')
    @OAuth2Public()
    ping() {
      return 'pong';
    }
  }
  return ReportsHandlers;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(guardPlacements)(
  'OAuth2Guard in microservice handlers, TCP transport ($name)',
  (placement) => {
    let app: INestMicroservice;
    let client: ClientProxy;
    let verification: jest.Mock;
    /** What the client's dispatch hook puts in each packet's metadata (Nest 12 TCP packet metadata). */
    let metadata: Record<string, string> | undefined;

    beforeAll(async () => {
      const port = await freeTcpPort();
      const moduleRef = await Test.createTestingModule({
        imports: [inMemoryOAuth2Module()],
        controllers: [reportsHandlers(placement.onClass)],
        providers: placement.providers,
      }).compile();
      app = moduleRef.createNestMicroservice({
        transport: Transport.TCP,
        options: { host: '127.0.0.1', port },
        logger: false,
      });
      await app.listen();
      verification = recordVerifications(app);
      client = ClientProxyFactory.create({
        transport: Transport.TCP,
        options: { host: '127.0.0.1', port },
      });
      client.setOnDispatchHook((packet: ReadPacket) => {
        if (metadata) packet.metadata = metadata;
      });
    });

    afterAll(async () => {
      client?.close();
      await app?.close();
    });

    const send = (pattern: string, data: unknown, authorization?: string) => {
      metadata = authorization === undefined ? undefined : { authorization };
      return firstValueFrom(client.send(pattern, data));
    };

    test('a token in the packet metadata: the handler gets the principal, counted once as valid', async () => {
      verification.mockClear();
      await expect(send('whoami', {}, `Bearer ${testAccessToken()}`)).resolves.toEqual({
        client_id: 'testclient',
        scopes: ['reports:read', 'reports:write'],
      });
      expect(verification.mock.calls).toEqual([['local', 'valid']]);
    });

    test('a token only in the payload’s headers: not read, TCP has packet metadata (401)', async () => {
      const payload = { headers: { authorization: `Bearer ${testAccessToken()}` } };
      await expect(rejectionOf(send('whoami', payload))).resolves.toEqual({
        status: 401,
        message: 'Unauthorized',
      });
    });

    test('@Scopes and @OAuthPrincipal(field) next to @Payload: the scope held → the answer', async () => {
      await expect(
        send('reports.archive', { id: 7 }, `Bearer ${testAccessToken('reports:write')}`),
      ).resolves.toEqual({ archived: 7, by: 'testclient' });
    });

    test('no token: the client receives status 401 and no error code (RFC 6750 §3.1), counted once', async () => {
      verification.mockClear();
      await expect(rejectionOf(send('whoami', {}))).resolves.toEqual({
        status: 401,
        message: 'Unauthorized',
      });
      expect(verification.mock.calls).toEqual([['local', 'missing']]);
    });

    test('a token signed with another key: 401 invalid_token, the token not echoed', async () => {
      const bad = signRaw({ typ: 'at+jwt' }, tokenClaims(), otherEs256.privateKey);
      const error = (await rejectionOf(send('whoami', {}, `Bearer ${bad}`))) as Record<
        string,
        unknown
      >;
      expect(error).toEqual({
        status: 401,
        error: 'invalid_token',
        error_description: expect.any(String),
        message: error.error_description,
      });
      expect(JSON.stringify(error)).not.toContain(bad.split('.')[1]);
    });

    test('a missing scope: 403 insufficient_scope naming the required scope', async () => {
      verification.mockClear();
      await expect(
        rejectionOf(
          send('reports.archive', { id: 7 }, `Bearer ${testAccessToken('reports:read')}`),
        ),
      ).resolves.toEqual({
        status: 403,
        error: 'insufficient_scope',
        error_description: SCOPE_DESCRIPTION,
        scope: 'reports:write',
        message: SCOPE_DESCRIPTION,
      });
      expect(verification.mock.calls).toEqual([['local', 'insufficient_scope']]);
    });

    test('a payload relaying an HTTP request’s headers: data, the metadata’s token is the one', async () => {
      const payload = { headers: { authorization: 'Bearer relayed.by.gateway' } };
      await expect(send('whoami', payload, `Bearer ${testAccessToken()}`)).resolves.toEqual({
        client_id: 'testclient',
        scopes: ['reports:read', 'reports:write'],
      });
    });

    test('a malformed authorization entry: 400 invalid_request', async () => {
      await expect(rejectionOf(send('whoami', {}, 'Bearer a b'))).resolves.toMatchObject({
        status: 400,
        error: 'invalid_request',
        error_description: 'The Bearer credentials are malformed',
      });
    });

    test('an @OAuth2Public handler answers without a token, nothing verified', async () => {
      verification.mockClear();
      await expect(send('ping', {})).resolves.toBe('pong');
      expect(verification).not.toHaveBeenCalled();
    });
  },
);
