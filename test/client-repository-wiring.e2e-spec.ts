import { afterEach, describe, expect, test } from '@jest/globals';
import {
  Injectable,
  Module,
  Scope,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InMemoryOAuthClientRepository,
  OAuth2Module,
  type OAuth2EventSink,
  type OAuth2ModuleExtras,
} from '../src/index.js';
import { seedClients, startApp } from './support/app.js';
import { testOptions } from './support/fixtures.js';
import { CLIENTS, GRANT, TEST_BASIC, tokenRequest } from './support/oauth.js';

/**
 * A client repository (or key store, or event sink) that injects the app's own providers: the module-level
 * `imports` of forRoot and forRootAsync make them visible, and without them the error names the extra and the
 * missing provider, never the module's internal tokens.
 */

/** A provider of the host app's own that the storage needs (a database client, say). */
@Injectable()
class Vault {
  readonly clients = new InMemoryOAuthClientRepository();
  /** How many storages were built on it. */
  users = 0;
}

@Module({ providers: [Vault], exports: [Vault] })
class VaultModule {}

@Injectable()
class VaultClientRepository extends InMemoryOAuthClientRepository {
  constructor(vault: Vault) {
    super();
    vault.users++;
  }
}

const fromVault: OAuth2ModuleExtras['clientRepository'] = {
  useFactory: (vault: Vault) => {
    vault.users++;
    return vault.clients;
  },
  inject: [Vault],
};

const inMemory = () => ({ useValue: new InMemoryOAuthClientRepository() });

const silent: LoggerService = { log() {}, error() {}, warn() {} };

/** Compiles a module with `oauth2`, and gives the error it fails with. */
async function failureOf(oauth2: DynamicModule): Promise<string> {
  const building = Test.createTestingModule({ imports: [oauth2] })
    .setLogger(silent)
    .compile();
  return building.then(
    () => 'compiled',
    (error: Error) => error.message,
  );
}

describe('a client repository injecting providers of the app', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Starts the app, seeds testclient and asks for a token: the storage in use answered. */
  async function issues(oauth2: DynamicModule): Promise<number> {
    app = await startApp({ imports: [oauth2] });
    await seedClients(app, [CLIENTS.test]);
    return (await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).status;
  }

  test.each([
    [
      'forRoot, a factory',
      () =>
        OAuth2Module.forRoot({
          ...testOptions(),
          imports: [VaultModule],
          clientRepository: fromVault,
        }),
    ],
    [
      'forRoot, a class',
      () =>
        OAuth2Module.forRoot({
          ...testOptions(),
          imports: [VaultModule],
          clientRepository: VaultClientRepository,
        }),
    ],
    [
      'forRootAsync, a factory',
      () =>
        OAuth2Module.forRootAsync({
          imports: [VaultModule],
          useFactory: () => testOptions(),
          clientRepository: fromVault,
        }),
    ],
  ])('%s: the module-level imports make them visible', async (_, oauth2) => {
    expect(await issues(oauth2())).toBe(200);
    // The storage in use was built on the app's Vault.
    expect(app!.get(Vault).users).toBe(1);
  });

  test('an alias (useExisting) of a storage the app provides', async () => {
    const store = new InMemoryOAuthClientRepository();
    @Module({
      providers: [{ provide: 'APP_CLIENT_STORE', useValue: store }],
      exports: ['APP_CLIENT_STORE'],
    })
    class StoreModule {}
    const oauth2 = OAuth2Module.forRoot({
      ...testOptions(),
      imports: [StoreModule],
      clientRepository: { useExisting: 'APP_CLIENT_STORE' },
    });
    expect(await issues(oauth2)).toBe(200);
    expect(await store.findById('testclient')).not.toBeNull();
  });

  test('an optional dependency of the factory stays optional', async () => {
    const oauth2 = OAuth2Module.forRoot({
      ...testOptions(),
      clientRepository: {
        useFactory: (vault: Vault | undefined) =>
          vault?.clients ?? new InMemoryOAuthClientRepository(),
        inject: [{ token: Vault, optional: true }],
      },
    });
    expect(await issues(oauth2)).toBe(200);
  });

  test('a factory without the imports: the error names the extra, the provider and the fix', async () => {
    for (const oauth2 of [
      OAuth2Module.forRoot({ ...testOptions(), clientRepository: fromVault }),
      OAuth2Module.forRootAsync({ useFactory: () => testOptions(), clientRepository: fromVault }),
    ]) {
      const message = await failureOf(oauth2);
      expect(message).toContain('OAuth2Module: the clientRepository provider injects Vault');
      expect(message).toContain('imports: [YourModule]');
      expect(message).not.toContain('OAUTH2:');
    }
  });

  test('a provider of the app that the imports leave out is not visible, even when the app has it', async () => {
    const building = Test.createTestingModule({
      imports: [
        VaultModule,
        OAuth2Module.forRoot({ ...testOptions(), clientRepository: fromVault }),
      ],
    })
      .setLogger(silent)
      .compile();
    await expect(building).rejects.toThrow(
      'OAuth2Module: the clientRepository provider injects Vault, which OAuth2Module cannot see',
    );
  });

  test('a dependency whose provider gives undefined is passed as such', async () => {
    @Module({
      providers: [{ provide: 'VAULT_URL', useFactory: (): string | undefined => undefined }],
      exports: ['VAULT_URL'],
    })
    class SettingsModule {}
    const given: unknown[] = [];
    const oauth2 = OAuth2Module.forRoot({
      ...testOptions(),
      imports: [SettingsModule],
      clientRepository: {
        useFactory: (url: string | undefined) => {
          given.push(url);
          return new InMemoryOAuthClientRepository();
        },
        inject: ['VAULT_URL'],
      },
    });
    expect(await issues(oauth2)).toBe(200);
    expect(given).toEqual([undefined]);
  });

  // A transient provider is built only for those who inject it: this module's lookup is the one that fails,
  // and Nest drops the error of a dependency it was told is optional.
  test.each([
    ['singleton', Scope.DEFAULT],
    ['transient', Scope.TRANSIENT],
  ])('a dependency whose %s provider throws: its own error, not "cannot see"', async (_, scope) => {
    @Module({
      providers: [
        {
          provide: Vault,
          scope,
          useFactory: (): Vault => {
            throw new Error('vault down');
          },
        },
      ],
      exports: [Vault],
    })
    class DownVaultModule {}
    for (const oauth2 of [
      OAuth2Module.forRoot({
        ...testOptions(),
        imports: [DownVaultModule],
        clientRepository: fromVault,
      }),
      OAuth2Module.forRootAsync({
        imports: [DownVaultModule],
        useFactory: () => testOptions(),
        clientRepository: fromVault,
      }),
    ]) {
      expect(await failureOf(oauth2)).toBe('vault down');
    }
  });

  test('a class without the imports: Nest names the class and its missing argument', async () => {
    const message = await failureOf(
      OAuth2Module.forRoot({ ...testOptions(), clientRepository: VaultClientRepository }),
    );
    expect(message).toMatch(/can't resolve dependencies of the VaultClientRepository \(\?\)/);
    expect(message).toContain('Vault at index [0]');
    expect(message).not.toContain('OAUTH2:');
  });

  test('the eventSink and keyStore extras say so the same way', async () => {
    const sink = {
      useFactory: (vault: Vault): OAuth2EventSink => ({ emit: () => void vault }),
      inject: [Vault],
    };
    expect(
      await failureOf(
        OAuth2Module.forRoot({ ...testOptions(), clientRepository: inMemory(), eventSink: sink }),
      ),
    ).toContain('the eventSink provider injects Vault');
    const keyStore = { useFactory: (vault: Vault) => vault, inject: [Vault] };
    const { signing: _, ...withoutSigning } = testOptions();
    expect(
      await failureOf(
        OAuth2Module.forRoot({
          ...withoutSigning,
          clientRepository: inMemory(),
          keyStore: keyStore as never,
        }),
      ),
    ).toContain('the keyStore provider injects Vault');
  });
});
