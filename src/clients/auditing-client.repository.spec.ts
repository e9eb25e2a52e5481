import { beforeEach, describe, expect, test } from '@jest/globals';
import { OAuth2EventSink, type OAuth2EventInput } from '../observability/events.js';
import { AuditingOAuthClientRepository } from './auditing-client.repository.js';
import { CachingOAuthClientRepository } from './caching-client.repository.js';
import { InMemoryOAuthClientRepository } from './in-memory-client.repository.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';

class RecordingSink extends OAuth2EventSink {
  readonly events: OAuth2EventInput[] = [];
  emit(event: OAuth2EventInput): void {
    this.events.push(event);
  }
}

const HASH = '$hmac-sha256$v=1$not-a-real-hash-but-secret-enough';
const row = (id: string, expiresAt: Date | null = null): OAuthClientSecret => ({
  id,
  hash: `${HASH}-${id}`,
  createdAt: new Date(),
  expiresAt,
  lastUsedAt: null,
});
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let sink: RecordingSink;
let inner: InMemoryOAuthClientRepository;
let audited: AuditingOAuthClientRepository;

beforeEach(() => {
  sink = new RecordingSink();
  inner = new InMemoryOAuthClientRepository([
    OAuthClient.create({ clientId: 'svc', clientSecret: HASH, scope: 'a' }),
    OAuthClient.create({ clientId: 'other', userId: 'alice' }),
  ]);
  audited = new AuditingOAuthClientRepository(inner, sink, 'app');
});

/** The events so far; none carries a time: the sink stamps it (events.ts), as the logger stamps a line. */
const events = () =>
  sink.events.map((event) => {
    expect(event).not.toHaveProperty('time');
    return event;
  });

describe('AuditingOAuthClientRepository', () => {
  test('a new client: created, and secret_added for its client_secret', async () => {
    await audited.save(OAuthClient.create({ clientId: 'new', clientSecret: HASH }));
    expect(events()).toEqual([
      { type: 'oauth2.client.created', clientId: 'new', source: 'app' },
      {
        type: 'oauth2.client.secret_added',
        clientId: 'new',
        secretId: PRIMARY_SECRET_ID,
        expiresAt: null,
        source: 'app',
      },
    ]);
  });

  test('a public client: created alone', async () => {
    await audited.save(OAuthClient.create({ clientId: 'pub' }));
    expect(events()).toEqual([{ type: 'oauth2.client.created', clientId: 'pub', source: 'app' }]);
  });

  test('an update names the fields that changed, never their values', async () => {
    const client = (await audited.findById('svc'))!;
    await audited.save(
      OAuthClient.create({ ...client, scope: 'a b', disabled: true, userId: 'svc-user' }),
    );
    expect(events()).toEqual([
      {
        type: 'oauth2.client.updated',
        clientId: 'svc',
        fields: ['scope', 'userId', 'disabled'],
        source: 'app',
      },
    ]);
  });

  test('a save that changes nothing announces nothing; neither do reads', async () => {
    const client = (await audited.findById('svc'))!;
    await audited.save(OAuthClient.create({ ...client }));
    await audited.list();
    await audited.findSecrets('svc');
    expect(sink.events).toEqual([]);
  });

  test('client_secret cleared: updated, and secret_revoked for primary', async () => {
    const client = (await audited.findById('svc'))!;
    await audited.save(
      OAuthClient.create({ ...client, clientSecret: null, tokenEndpointAuthMethod: 'none' }),
    );
    expect(events()).toEqual([
      {
        type: 'oauth2.client.updated',
        clientId: 'svc',
        fields: ['clientSecret', 'tokenEndpointAuthMethod'],
        source: 'app',
      },
      {
        type: 'oauth2.client.secret_revoked',
        clientId: 'svc',
        secretId: PRIMARY_SECRET_ID,
        expiresAt: expect.stringMatching(ISO),
        source: 'app',
      },
    ]);
  });

  test('a refused save (a sub that is another client’s) announces nothing', async () => {
    await expect(
      audited.save(OAuthClient.create({ clientId: 'svc', userId: 'other' })),
    ).rejects.toThrow();
    expect(sink.events).toEqual([]);
  });

  test('delete: deleted once; an unknown id announces nothing', async () => {
    expect(await audited.delete('svc')).toBe(true);
    expect(await audited.delete('svc')).toBe(false);
    expect(events()).toEqual([{ type: 'oauth2.client.deleted', clientId: 'svc', source: 'app' }]);
  });

  test('addSecret: secret_added with its expiry; a refused one announces nothing', async () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    await audited.addSecret('svc', row('s1', expiresAt));
    await expect(audited.addSecret('nobody', row('s2'))).rejects.toThrow();
    await expect(audited.addSecret('svc', row('s1'))).rejects.toThrow(/exists already/);
    expect(events()).toEqual([
      {
        type: 'oauth2.client.secret_added',
        clientId: 'svc',
        secretId: 's1',
        expiresAt: expiresAt.toISOString(),
        source: 'app',
      },
    ]);
  });

  test('removeSecret: secret_revoked; a secret it does not have announces nothing', async () => {
    await inner.addSecret('svc', row('s1'));
    expect(await audited.removeSecret('svc', 's1')).toBe(true);
    expect(await audited.removeSecret('svc', 's1')).toBe(false);
    expect(events()).toEqual([
      {
        type: 'oauth2.client.secret_revoked',
        clientId: 'svc',
        secretId: 's1',
        expiresAt: expect.stringMatching(ISO),
        source: 'app',
      },
    ]);
  });

  test('expireSecrets: secret_revoked for each secret it cut short, none for one that stops sooner', async () => {
    const soon = new Date(Date.now() + 1000);
    const later = new Date(Date.now() + 3600_000);
    await inner.addSecret('svc', row('early', soon));
    await inner.addSecret('svc', row('open'));
    await audited.expireSecrets('svc', [PRIMARY_SECRET_ID, 'early', 'open', 'unknown'], later);
    await audited.expireSecrets('nobody', [PRIMARY_SECRET_ID], later);
    expect(events()).toEqual(
      [PRIMARY_SECRET_ID, 'open'].map((secretId) => ({
        type: 'oauth2.client.secret_revoked',
        clientId: 'svc',
        secretId,
        expiresAt: later.toISOString(),
        source: 'app',
      })),
    );
  });

  test('rotateSecret: secret_added and secret_rotated, once each, also through the cache', async () => {
    const cached = new CachingOAuthClientRepository(audited, { ttl: 60, max: 10, maxWaitMs: 100 });
    const at = new Date(Date.now() + 86400_000);
    await inner.addSecret('svc', row('old'));
    expect(await cached.rotateSecret('svc', row('new'), at)).toEqual([PRIMARY_SECRET_ID, 'old']);
    expect(events()).toEqual([
      {
        type: 'oauth2.client.secret_added',
        clientId: 'svc',
        secretId: 'new',
        expiresAt: null,
        source: 'app',
      },
      {
        type: 'oauth2.client.secret_rotated',
        clientId: 'svc',
        secretId: 'new',
        previousExpireAt: at.toISOString(),
        source: 'app',
      },
    ]);
    const secrets = await inner.findSecrets('svc');
    const expiries = Object.fromEntries(secrets.map((s) => [s.id, s.expiresAt?.toISOString()]));
    expect(expiries).toEqual({ old: at.toISOString(), new: undefined });
    await expect(cached.rotateSecret('nobody', row('x'), at)).rejects.toThrow(/no client/);
    expect(sink.events).toHaveLength(2);
  });

  test('re-hashing a secret in place and recording its use are no changes', async () => {
    expect(await audited.updateSecret('svc', HASH, `${HASH}-2`)).toBe(true);
    expect(await audited.updateSecretHash('svc', PRIMARY_SECRET_ID, `${HASH}-2`, HASH)).toBe(true);
    await audited.touchSecret('svc', PRIMARY_SECRET_ID, new Date());
    expect(sink.events).toEqual([]);
  });

  test('a read that fails or hangs never loses the change nor its event: updated, and a warning', async () => {
    let mode: 'fail' | 'hang' = 'fail';
    const broken = new (class extends InMemoryOAuthClientRepository {
      override async findById(): Promise<OAuthClient | null> {
        if (mode === 'fail')
          throw Object.assign(new Error('read refused at db.internal'), { code: 'EX' });
        return new Promise(() => {});
      }
    })();
    const warnings: unknown[][] = [];
    const repository = new AuditingOAuthClientRepository(broken, sink, 'app', {
      timeoutMs: 20,
      logger: { warn: (...args: unknown[]) => void warnings.push(args) },
    });
    await repository.save(OAuthClient.create({ clientId: 'a', clientSecret: HASH }));
    mode = 'hang';
    await repository.save(OAuthClient.create({ clientId: 'b' }));
    await repository.expireSecrets('a', [PRIMARY_SECRET_ID], new Date(0));
    expect((await broken.list()).map((client) => client.clientId)).toEqual(['a', 'b']);
    expect(sink.events).toEqual([
      { type: 'oauth2.client.updated', clientId: 'a', source: 'app' },
      { type: 'oauth2.client.updated', clientId: 'b', source: 'app' },
      {
        type: 'oauth2.client.secret_revoked',
        clientId: 'a',
        secretId: PRIMARY_SECRET_ID,
        expiresAt: new Date(0).toISOString(),
        source: 'app',
      },
    ]);
    expect(warnings.map(([, fields]) => fields)).toEqual([
      {
        event: 'oauth2.audit.change_unread',
        reason: 'Error (EX)',
        operation: 'save',
        clientId: 'a',
      },
      {
        event: 'oauth2.audit.change_unread',
        reason: 'no answer within 20 ms',
        operation: 'save',
        clientId: 'b',
      },
      {
        event: 'oauth2.audit.change_unread',
        reason: 'no answer within 20 ms',
        operation: 'expireSecrets',
        clientId: 'a',
      },
    ]);
    // The driver's message (a host name here) is not logged.
    expect(JSON.stringify(warnings)).not.toContain('db.internal');
  });

  test('a read that answers is awaited before the write: created and secret_added, however slow', async () => {
    const slow = new (class extends InMemoryOAuthClientRepository {
      override async findById(clientId: string): Promise<OAuthClient | null> {
        const found = await super.findById(clientId);
        await new Promise((resolve) => setTimeout(resolve, 30));
        return found;
      }
    })();
    const repository = new AuditingOAuthClientRepository(slow, sink, 'app', { timeoutMs: 1000 });
    await repository.save(OAuthClient.create({ clientId: 'n', clientSecret: HASH }));
    expect(sink.events.map((event) => event.type)).toEqual([
      'oauth2.client.created',
      'oauth2.client.secret_added',
    ]);
  });

  test('rotateSecret: a rotation that fails after adding the secret still announces secret_added', async () => {
    const failing = new (class extends InMemoryOAuthClientRepository {
      override async expireSecrets(): Promise<void> {
        throw new Error('expire refused');
      }
    })([OAuthClient.create({ clientId: 'svc', clientSecret: HASH })]);
    const repository = new AuditingOAuthClientRepository(failing, sink, 'app');
    await expect(repository.rotateSecret('svc', row('new'), new Date())).rejects.toThrow(
      'expire refused',
    );
    expect((await failing.findSecrets('svc')).map((secret) => secret.id)).toEqual(['new']);
    expect(sink.events).toEqual([
      {
        type: 'oauth2.client.secret_added',
        clientId: 'svc',
        secretId: 'new',
        expiresAt: null,
        source: 'app',
      },
    ]);
  });

  test('a sink that throws never fails the change it reports', async () => {
    const throwing = new AuditingOAuthClientRepository(
      inner,
      new (class extends OAuth2EventSink {
        emit(): void {
          throw new Error('sink down');
        }
      })(),
      'app',
    );
    await expect(throwing.delete('svc')).resolves.toBe(true);
  });

  test('no event holds a hash', async () => {
    await audited.save(OAuthClient.create({ clientId: 'new', clientSecret: HASH }));
    await audited.addSecret('new', row('s1'));
    await audited.rotateSecret('new', row('s2'), new Date());
    expect(sink.events.length).toBeGreaterThan(3);
    expect(JSON.stringify(sink.events)).not.toContain('hmac');
  });
});
