import { describe, expect, test } from '@jest/globals';
import { InMemoryOAuthClientRepository } from './in-memory-client.repository.js';
import { OAuthClient } from './oauth-client.entity.js';

const seeded = () =>
  new InMemoryOAuthClientRepository([
    OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', scope: 'a' }),
  ]);

describe('InMemoryOAuthClientRepository.updateSecret (compare-and-set)', () => {
  test('the expected secret matches → true, and the secret is replaced', async () => {
    const repository = seeded();
    expect(await repository.updateSecret('svc', 'h1', 'h2')).toBe(true);
    expect((await repository.findById('svc'))?.clientSecret).toBe('h2');
  });

  test('another expected secret → false, and the secret is left alone', async () => {
    const repository = seeded();
    expect(await repository.updateSecret('svc', 'stale', 'h2')).toBe(false);
    expect((await repository.findById('svc'))?.clientSecret).toBe('h1');
  });

  test('two upgrades from one expected secret: the second loses', async () => {
    const repository = seeded();
    expect(await repository.updateSecret('svc', 'h1', 'first')).toBe(true);
    expect(await repository.updateSecret('svc', 'h1', 'second')).toBe(false);
    expect((await repository.findById('svc'))?.clientSecret).toBe('first');
  });

  test('an unknown id → false, and no client is created', async () => {
    const repository = seeded();
    expect(await repository.updateSecret('nobody', 'h1', 'h2')).toBe(false);
    expect(await repository.findById('nobody')).toBeNull();
  });
});

describe('InMemoryOAuthClientRepository copies', () => {
  test('copies in: changing a client after the constructor or save() does not change the store', async () => {
    const given = OAuthClient.create({ clientId: 'svc', scope: 'a' });
    const repository = new InMemoryOAuthClientRepository([given]);
    given.scope = 'changed';
    expect((await repository.findById('svc'))?.scope).toBe('a');

    const saved = OAuthClient.create({ clientId: 'other', scope: 'b' });
    await repository.save(saved);
    saved.scope = 'changed';
    expect((await repository.findById('other'))?.scope).toBe('b');
  });

  test('copies out: changing what findById() or list() returned does not change the store', async () => {
    const repository = seeded();
    const found = await repository.findById('svc');
    expect(found).toBeInstanceOf(OAuthClient);
    found!.scope = 'changed';
    const [listed] = await repository.list();
    expect(listed).toBeInstanceOf(OAuthClient);
    listed.clientSecret = 'changed';
    expect(await repository.findById('svc')).toEqual(
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', scope: 'a' }),
    );
  });
});

describe('InMemoryOAuthClientRepository list, save, delete', () => {
  test('list() is ordered by client id (code unit order), not by insertion', async () => {
    const repository = new InMemoryOAuthClientRepository(
      ['b', 'a', 'B', 'c', 'a2'].map((clientId) => OAuthClient.create({ clientId })),
    );
    await repository.save(OAuthClient.create({ clientId: '0' }));
    expect((await repository.list()).map((c) => c.clientId)).toEqual([
      '0',
      'B',
      'a',
      'a2',
      'b',
      'c',
    ]);
  });

  test('save() replaces the client with the same id', async () => {
    const repository = seeded();
    await repository.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h9' }));
    expect(await repository.findById('svc')).toEqual(
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h9' }),
    );
    expect(await repository.list()).toHaveLength(1);
  });

  test('ids are exact: no case folding', async () => {
    expect(await seeded().findById('SVC')).toBeNull();
  });

  test('delete() → true for a client, false when there was none', async () => {
    const repository = seeded();
    expect(await repository.delete('svc')).toBe(true);
    expect(await repository.findById('svc')).toBeNull();
    expect(await repository.delete('svc')).toBe(false);
  });
});
