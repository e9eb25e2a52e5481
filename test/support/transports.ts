import { jest } from '@jest/globals';
import type { INestApplicationContext, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  InMemoryOAuthClientRepository,
  OAuth2Guard,
  OAuth2Metrics,
  OAuth2Module,
} from '../../src/index.js';
import { testOptions, tokenClaims } from './fixtures.js';
import { signRaw } from './jwt.js';
import { es256 } from './keys.js';

/** A token as the test OAuth2Module would issue it to testclient, with these scopes. */
export const testAccessToken = (scope = 'reports:read reports:write'): string =>
  signRaw({ typ: 'at+jwt' }, tokenClaims({ scope }), es256.privateKey);

/** OAuth2Module with the test options and clients in memory: the guard's verifier, no database. */
export const inMemoryOAuth2Module = () =>
  OAuth2Module.forRoot({
    ...testOptions(),
    clientRepository: { useValue: new InMemoryOAuthClientRepository() },
  });

/** Where an app puts the guard: `@UseGuards` on the class of its handlers, or app-wide. */
export interface GuardPlacement {
  name: string;
  /** Whether the handlers' class carries `@UseGuards(OAuth2Guard)`. */
  onClass: boolean;
  providers: Provider[];
}

export const guardPlacements: GuardPlacement[] = [
  { name: '@UseGuards on the class', onClass: true, providers: [] },
  {
    name: 'APP_GUARD',
    onClass: false,
    providers: [{ provide: APP_GUARD, useClass: OAuth2Guard }],
  },
];

/** Records each verification the app's guard counts, as (verifier, outcome). */
export function recordVerifications(app: INestApplicationContext): jest.Mock {
  const recorded = jest.fn();
  jest.spyOn(app.get(OAuth2Metrics), 'verification').mockImplementation(recorded);
  return recorded;
}
