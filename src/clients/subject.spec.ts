import { describe, expect, jest, test } from '@jest/globals';
import { OAuthClient } from './oauth-client.entity.js';
import { checkSubject, OAuthSubjectConflictError, type SubjectLookups } from './subject.js';

/** Lookups over these stored clients, spied on. */
function lookups(...stored: OAuthClient[]) {
  const others = {
    findById: jest.fn<SubjectLookups['findById']>(
      async (id) => stored.find((c) => c.clientId === id) ?? null,
    ),
    findByUserId: jest.fn<SubjectLookups['findByUserId']>(async (userId) =>
      // As a database returns a legacy INTEGER user_id: a number, which equals the string's row.
      stored.filter((c) => c.userId !== null && String(c.userId) === userId),
    ),
  };
  return others;
}

const client = (clientId: string, userId: string | null = null) =>
  OAuthClient.create({ clientId, userId });

describe('checkSubject: a sub names one client only (RFC 9068 §2.2)', () => {
  test.each([[''], [' '], ['\t']])('user_id %j is refused, new or changed', async (userId) => {
    const error = "client 'svc': user_id must not be empty";
    await expect(checkSubject(client('svc', userId), lookups(), null)).rejects.toThrow(error);
    await expect(
      checkSubject(client('svc', userId), lookups(client('svc')), client('svc')),
    ).rejects.toThrow(error);
  });

  test("a user_id that is another client's id is refused, new or changed", async () => {
    const others = lookups(client('alice'), client('bob'));
    const error =
      "client 'bob': user_id 'alice' is another client's id, so both clients' tokens would have the same sub";
    await expect(checkSubject(client('bob', 'alice'), others, client('bob'))).rejects.toThrow(
      error,
    );
    await expect(checkSubject(client('bob', 'alice'), others, null)).rejects.toThrow(
      OAuthSubjectConflictError,
    );
  });

  test('a user_id equal to its own id is allowed', async () => {
    await expect(
      checkSubject(client('bob', 'bob'), lookups(client('bob')), client('bob')),
    ).resolves.toBeUndefined();
    await expect(checkSubject(client('bob', 'bob'), lookups(), null)).resolves.toBeUndefined();
  });

  test("a new client whose id is another client's user_id is refused", async () => {
    await expect(
      checkSubject(client('carol'), lookups(client('bob', 'carol')), null),
    ).rejects.toThrow(
      "client 'carol': the id is the user_id of client 'bob', so both clients' tokens would have the same sub",
    );
  });

  test("…also where the other's user_id is a legacy INTEGER column's number", async () => {
    const legacy = Object.assign(client('delegate'), { userId: 42 as unknown as string });
    await expect(checkSubject(client('42'), lookups(legacy), null)).rejects.toThrow(
      "client '42': the id is the user_id of client 'delegate'",
    );
  });

  test('two clients with the same user_id are allowed', async () => {
    await expect(
      checkSubject(client('b', 'user-7'), lookups(client('a', 'user-7')), null),
    ).resolves.toBeUndefined();
  });

  test('a save that changes neither the id nor user_id checks nothing: a stored conflict stays savable', async () => {
    // bob acts as alice, a client too: stored so before the rule (a legacy table).
    const bob = client('bob', 'alice');
    const others = lookups(client('alice'), bob);
    await expect(
      checkSubject(Object.assign(client('bob', 'alice'), { disabled: true }), others, bob),
    ).resolves.toBeUndefined();
    await expect(checkSubject(client('alice'), others, client('alice'))).resolves.toBeUndefined();
    expect(others.findById).not.toHaveBeenCalled();
    expect(others.findByUserId).not.toHaveBeenCalled();
    // Changing bob's user_id is checked again.
    await expect(checkSubject(client('bob', 'alice '), others, bob)).resolves.toBeUndefined();
    await expect(checkSubject(client('bob', 'alice'), others, client('bob'))).rejects.toThrow(
      OAuthSubjectConflictError,
    );
  });
});
