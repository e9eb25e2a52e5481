import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  ClientSecretHasher,
  OAuth2EventSink,
  OAuth2KeyStore,
  OAuth2Module,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2EventInput,
} from '../src/index.js';
import { startApp } from './support/app.js';
import { testOptions, typeOrmRoot } from './support/fixtures.js';
import { KEK, sqliteWithActiveKey } from './support/key-store.js';

/**
 * Issue 12: changes the app makes through its own repository and key store (as DI provides them: the cache
 * and the audit wrapper around the TypeORM storage) are audit events with `source: 'app'`, once each.
 */

class RecordingSink extends OAuth2EventSink {
  events: OAuth2EventInput[] = [];
  emit(event: OAuth2EventInput): void {
    this.events.push(event);
  }
}

const sink = new RecordingSink();
let database: Awaited<ReturnType<typeof sqliteWithActiveKey>> | undefined;
let app: INestApplication;

beforeAll(async () => {
  database = await sqliteWithActiveKey();
  app = await startApp({
    imports: [
      typeOrmRoot(database.options),
      OAuth2Module.forRoot({
        ...testOptions({ signing: undefined, keyEncryptionKey: KEK }),
        keyStore: true,
        eventSink: { useValue: sink },
      }),
    ],
  });
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});
beforeEach(() => {
  sink.events = [];
});

const types = () => sink.events.map((event) => [event.type, (event as { source?: string }).source]);

describe('through the app’s OAuthClientRepository', () => {
  test('create, update, add, rotate, revoke, delete: one event each, source app, no hash', async () => {
    const clients = app.get(OAuthClientRepository);
    const hasher = app.get(ClientSecretHasher);
    const { secret, hash } = hasher.createSecret();
    await clients.save(OAuthClient.create({ clientId: 'svc', clientSecret: hash }));
    await clients.save(OAuthClient.create({ clientId: 'svc', clientSecret: hash, scope: 'a' }));
    const extra = hasher.createSecret();
    const row = (id: string, h: string) => ({
      id,
      hash: h,
      createdAt: new Date(),
      expiresAt: null,
      lastUsedAt: null,
    });
    await clients.addSecret('svc', row('s1', extra.hash));
    const rotated = hasher.createSecret();
    await clients.rotateSecret('svc', row('s2', rotated.hash), new Date(Date.now() + 60_000));
    await clients.removeSecret('svc', 's1');
    await clients.delete('svc');
    expect(types()).toEqual([
      ['oauth2.client.created', 'app'],
      ['oauth2.client.secret_added', 'app'],
      ['oauth2.client.updated', 'app'],
      ['oauth2.client.secret_added', 'app'],
      ['oauth2.client.secret_added', 'app'],
      ['oauth2.client.secret_rotated', 'app'],
      ['oauth2.client.secret_revoked', 'app'],
      ['oauth2.client.deleted', 'app'],
    ]);
    const text = JSON.stringify(sink.events);
    for (const value of [secret, hash, extra.secret, extra.hash, rotated.secret, rotated.hash]) {
      expect(text).not.toContain(value);
    }
  });

  test('a failed change is no event', async () => {
    const clients = app.get(OAuthClientRepository);
    await expect(
      clients.addSecret('nobody', {
        id: 'x',
        hash: 'h',
        createdAt: null,
        expiresAt: null,
        lastUsedAt: null,
      }),
    ).rejects.toThrow();
    expect(await clients.delete('nobody')).toBe(false);
    expect(sink.events).toEqual([]);
  });
});

test('through the app’s OAuth2KeyStore: generated, activated, retired, source app', async () => {
  const store = app.get(OAuth2KeyStore);
  const [old] = await store.list();
  const key = await store.generate('RS256', { activate: true });
  expect(sink.events).toEqual([
    {
      type: 'oauth2.key.generated',
      kid: key.kid,
      algorithm: 'RS256',
      source: 'app',
    },
    {
      type: 'oauth2.key.activated',
      kid: key.kid,
      algorithm: 'RS256',
      source: 'app',
    },
    {
      type: 'oauth2.key.retired',
      kid: old.kid,
      algorithm: 'ES256',
      source: 'app',
    },
  ]);
});
