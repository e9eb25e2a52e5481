import { describe, expect, test } from '@jest/globals';
import { InMemoryOAuthClientRepository } from './in-memory-client.repository.js';
import { clientSecret as secret, T1, T2, T3 } from '../../test/support/client-secrets.js';
import { OAuthClient, PRIMARY_SECRET_ID } from './oauth-client.entity.js';
import { OAuthSubjectConflictError } from './subject.js';

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

/** svc (client_secret h1) and other, each without further secrets. */
const twoClients = () =>
  new InMemoryOAuthClientRepository([
    OAuthClient.create({ clientId: 'svc', clientSecret: 'h1' }),
    OAuthClient.create({ clientId: 'other' }),
  ]);
const ids = async (repository: InMemoryOAuthClientRepository, clientId = 'svc') =>
  (await repository.findSecrets(clientId)).map((s) => s.id);

describe('InMemoryOAuthClientRepository secrets', () => {
  test('findSecrets: none at first; then oldest first (ties by id), whatever order they were added in', async () => {
    const repository = twoClients();
    expect(await repository.findSecrets('svc')).toEqual([]);
    await repository.addSecret('svc', secret('late', { createdAt: T2, expiresAt: T3 }));
    await repository.addSecret('svc', secret('b'));
    await repository.addSecret('svc', secret('a', { lastUsedAt: T2 }));
    expect(await repository.findSecrets('svc')).toEqual([
      secret('a', { lastUsedAt: T2 }),
      secret('b'),
      secret('late', { createdAt: T2, expiresAt: T3 }),
    ]);
    expect(await repository.findSecrets('other')).toEqual([]);
  });

  test('addSecret without a creation time gives it the present one', async () => {
    const repository = twoClients();
    const before = Date.now();
    await repository.addSecret('svc', secret('s1', { createdAt: null }));
    const [added] = await repository.findSecrets('svc');
    expect(added.createdAt!.getTime()).toBeGreaterThanOrEqual(before);
    expect(added.createdAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });

  test('addSecret refuses an unknown client, `primary`, an id the table could not hold, and a taken id', async () => {
    const repository = twoClients();
    await expect(repository.addSecret('nobody', secret('s1'))).rejects.toThrow(
      "no client with id 'nobody'",
    );
    for (const id of [PRIMARY_SECRET_ID, '', 'x'.repeat(41), 'a b', 'é']) {
      await expect(repository.addSecret('svc', secret(id))).rejects.toThrow(
        "client 'svc': a secret id is 1 to 40 printable ASCII characters without spaces, and not 'primary'",
      );
    }
    await repository.addSecret('svc', secret('taken'));
    await expect(repository.addSecret('svc', secret('taken'))).rejects.toThrow(
      "a secret with id 'taken' exists already",
    );
    // Unique across clients, as the table's primary key.
    await expect(repository.addSecret('other', secret('taken'))).rejects.toThrow(
      "a secret with id 'taken' exists already",
    );
    expect(await ids(repository)).toEqual(['taken']);
    expect(await ids(repository, 'other')).toEqual([]);
  });

  test('copies in and out: neither the given secret nor a returned one shares anything with the store', async () => {
    const repository = twoClients();
    const given = secret('s1', { expiresAt: new Date(T3) });
    await repository.addSecret('svc', given);
    given.hash = 'changed';
    given.expiresAt!.setTime(0);
    const [found] = await repository.findSecrets('svc');
    found.hash = 'changed';
    found.createdAt!.setTime(0);
    expect(await repository.findSecrets('svc')).toEqual([secret('s1', { expiresAt: T3 })]);
  });

  test('removeSecret: its own → true; `primary`, another client’s or an unknown one → false', async () => {
    const repository = twoClients();
    await repository.addSecret('svc', secret('s1'));
    await repository.addSecret('svc', secret('s2'));
    await repository.addSecret('other', secret('o1'));
    expect(await repository.removeSecret('svc', PRIMARY_SECRET_ID)).toBe(false);
    expect((await repository.findById('svc'))!.clientSecret).toBe('h1');
    expect(await repository.removeSecret('svc', 'o1')).toBe(false);
    expect(await repository.removeSecret('nobody', 's1')).toBe(false);
    expect(await repository.removeSecret('svc', 's1')).toBe(true);
    expect(await repository.removeSecret('svc', 's1')).toBe(false);
    expect(await ids(repository)).toEqual(['s2']);
    expect(await ids(repository, 'other')).toEqual(['o1']);
    // Its id can be taken again once removed.
    await repository.addSecret('other', secret('s1'));
    expect(await ids(repository, 'other')).toEqual(['o1', 's1']);
  });

  test('expireSecrets shortens the named secrets and client_secret (`primary`), never extends one', async () => {
    const repository = new InMemoryOAuthClientRepository([
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', clientSecretExpiresAt: T3 }),
      OAuthClient.create({ clientId: 'other' }),
    ]);
    await repository.addSecret('svc', secret('never'));
    await repository.addSecret('svc', secret('later', { expiresAt: T3 }));
    await repository.addSecret('svc', secret('sooner', { expiresAt: T1 }));
    await repository.addSecret('svc', secret('unnamed'));
    await repository.addSecret('other', secret('theirs'));
    await repository.expireSecrets(
      'svc',
      [PRIMARY_SECRET_ID, 'never', 'later', 'sooner', 'theirs', 'nope'],
      T2,
    );
    const expiries = async () =>
      (await repository.findSecrets('svc')).map((s) => [s.id, s.expiresAt]);
    expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T2);
    const shortened = [
      ['later', T2],
      ['never', T2],
      ['sooner', T1],
      ['unnamed', null],
    ];
    expect(await expiries()).toEqual(shortened);
    expect((await repository.findSecrets('other'))[0].expiresAt).toBeNull();

    await repository.expireSecrets('svc', [PRIMARY_SECRET_ID, 'never', 'sooner'], T3);
    expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T2);
    expect(await expiries()).toEqual(shortened);
  });

  test('expireSecrets: a client_secret that never expired gets the time; an unknown client nothing', async () => {
    const repository = twoClients();
    await repository.expireSecrets('svc', [PRIMARY_SECRET_ID], T1);
    expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T1);
    await repository.expireSecrets('nobody', [PRIMARY_SECRET_ID], T1);
    expect(await repository.findById('nobody')).toBeNull();
  });

  test('touchSecret records the last use of the secret named, and of client_secret as `primary`', async () => {
    const repository = twoClients();
    await repository.addSecret('svc', secret('s1'));
    await repository.addSecret('svc', secret('s2'));
    await repository.addSecret('other', secret('o1'));
    await repository.touchSecret('svc', 's1', T3);
    await repository.touchSecret('svc', PRIMARY_SECRET_ID, T2);
    await repository.touchSecret('svc', 'o1', T2);
    await repository.touchSecret('nobody', PRIMARY_SECRET_ID, T2);
    expect((await repository.findSecrets('svc')).map((s) => s.lastUsedAt)).toEqual([T3, null]);
    expect((await repository.findSecrets('other'))[0].lastUsedAt).toBeNull();
    expect(await repository.findById('svc')).toEqual(
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', clientSecretLastUsedAt: T2 }),
    );
    expect(await repository.findById('nobody')).toBeNull();
  });

  test('delete takes the secrets with the client: a new client of that id starts with none', async () => {
    const repository = twoClients();
    await repository.addSecret('svc', secret('s1'));
    expect(await repository.delete('svc')).toBe(true);
    expect(await repository.findSecrets('svc')).toEqual([]);
    await repository.save(OAuthClient.create({ clientId: 'svc' }));
    expect(await repository.findSecrets('svc')).toEqual([]);
    await repository.addSecret('svc', secret('s1'));
    expect(await ids(repository)).toEqual(['s1']);
  });
});

describe('InMemoryOAuthClientRepository.save and the sub rule', () => {
  test("refuses an empty user_id, another client's id as user_id, and a new client named by a user_id", async () => {
    const repository = twoClients();
    await expect(
      repository.save(OAuthClient.create({ clientId: 'svc', userId: '' })),
    ).rejects.toThrow(OAuthSubjectConflictError);
    await expect(
      repository.save(OAuthClient.create({ clientId: 'svc', userId: 'other' })),
    ).rejects.toThrow(OAuthSubjectConflictError);
    await repository.save(OAuthClient.create({ clientId: 'a', userId: 'carol' }));
    await expect(repository.save(OAuthClient.create({ clientId: 'carol' }))).rejects.toThrow(
      OAuthSubjectConflictError,
    );
    expect((await repository.list()).map((c) => [c.clientId, c.userId])).toEqual([
      ['a', 'carol'],
      ['other', null],
      ['svc', null],
    ]);
  });

  test('allows a shared user_id, and a user_id equal to its own id', async () => {
    const repository = twoClients();
    await repository.save(OAuthClient.create({ clientId: 'a', userId: 'user-7' }));
    await repository.save(OAuthClient.create({ clientId: 'b', userId: 'user-7' }));
    await repository.save(OAuthClient.create({ clientId: 'svc', userId: 'svc' }));
    expect((await repository.list()).map((c) => c.userId)).toEqual([
      'user-7',
      'user-7',
      null,
      'svc',
    ]);
  });
});
