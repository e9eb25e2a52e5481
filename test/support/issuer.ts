import type { INestApplication, LoggerService } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import {
  InMemoryOAuthClientRepository,
  OAuth2Module,
  type OAuth2ModuleExtras,
  type OAuth2ModuleOptions,
} from '../../src/index.js';
import { seedClients, startApp, type Platform } from './app.js';
import { testOptions } from './fixtures.js';
import { CLIENTS } from './oauth.js';
import { ResourceController } from './resource.controller.js';

export interface ListeningIssuer {
  app: INestApplication;
  origin: string;
  issuer: string;
  port: number;
}

/** A free loopback port: listened on once, then let go. */
export async function freePort(platform: Platform): Promise<number> {
  const probe = await startApp({}, { platform });
  await probe.listen(0, '127.0.0.1');
  const { port } = probe.getHttpServer().address() as AddressInfo;
  await probe.close();
  return port;
}

/**
 * An authorization server (OAuth2Module, in-memory clients, the seed's test client) listening on a loopback
 * port; its issuer is that port's URL plus `issuerPath`, since discovery must name the real address.
 */
export async function listeningIssuer(
  platform: Platform,
  options: (issuer: string) => Partial<OAuth2ModuleOptions>,
  {
    issuerPath = '',
    extras = {},
    port,
    logger,
  }: {
    issuerPath?: string;
    extras?: OAuth2ModuleExtras;
    port?: number;
    /** Where Nest logs; nowhere unless given. */
    logger?: LoggerService;
  } = {},
): Promise<ListeningIssuer> {
  const listenOn = port ?? (await freePort(platform));
  const origin = `http://127.0.0.1:${listenOn}`;
  const issuer = origin + issuerPath;
  const app = await startApp(
    {
      imports: [
        OAuth2Module.forRoot({
          ...testOptions({ issuer, ...options(issuer) }),
          clientRepository: { useValue: new InMemoryOAuthClientRepository() },
          ...extras,
        }),
      ],
      controllers: [ResourceController],
    },
    { platform, logger },
  );
  await seedClients(app, [CLIENTS.test]);
  await app.listen(listenOn, '127.0.0.1');
  return { app, origin, issuer, port: listenOn };
}
