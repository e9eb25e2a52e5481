import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { KEK, openAdmin, storeOf } from '../../test/support/key-store.js';
import { OAuth2EventSink, type OAuth2EventInput } from '../observability/events.js';
import { AuditingOAuth2KeyStore } from './auditing-key.store.js';
import { OAuth2KeyStore } from './key-store.js';
import type { TypeOrmOAuth2KeyStore } from './typeorm-key.store.js';

class RecordingSink extends OAuth2EventSink {
  readonly events: OAuth2EventInput[] = [];
  emit(event: OAuth2EventInput): void {
    this.events.push(event);
  }
}

let dataSource: DataSource;
let sink: RecordingSink;
let inner: TypeOrmOAuth2KeyStore;
let store: AuditingOAuth2KeyStore;

beforeEach(async () => {
  dataSource = await openAdmin({ type: 'better-sqlite3', database: ':memory:' });
  sink = new RecordingSink();
  inner = storeOf(dataSource);
  store = new AuditingOAuth2KeyStore(inner, sink, 'cli');
});
afterEach(() => dataSource.destroy());

/** The events so far as [type, kid, algorithm]; each also has its source, and no time (the sink's to stamp). */
const events = () =>
  sink.events.map((event) => {
    expect(event).toEqual({
      type: expect.any(String),
      kid: expect.any(String),
      algorithm: expect.any(String),
      source: 'cli',
    });
    const { type, kid, algorithm } = event as { type: string; kid: string; algorithm: string };
    return [type, kid, algorithm];
  });

describe('AuditingOAuth2KeyStore', () => {
  test('generate: generated; with activate also activated, and retired for the key it replaced', async () => {
    const first = await store.generate('ES256', { activate: true });
    const next = await store.generate('RS256');
    const second = await store.generate('PS256', { activate: true });
    expect(events()).toEqual([
      ['oauth2.key.generated', first.kid, 'ES256'],
      ['oauth2.key.activated', first.kid, 'ES256'],
      ['oauth2.key.generated', next.kid, 'RS256'],
      ['oauth2.key.generated', second.kid, 'PS256'],
      ['oauth2.key.activated', second.kid, 'PS256'],
      ['oauth2.key.retired', first.kid, 'ES256'],
    ]);
  });

  test('activate: activated and retired once; the active key again, or a refused one, nothing', async () => {
    const first = await inner.generate('ES256', { activate: true });
    const next = await inner.generate('ES256');
    await expect(store.activate(next.kid, { minNextAge: 3600 })).rejects.toMatchObject({
      code: 'published_too_recently',
    });
    await expect(store.activate('nope', { minNextAge: 0 })).rejects.toMatchObject({
      code: 'unknown_key',
    });
    expect(sink.events).toEqual([]);
    await store.activate(next.kid, { minNextAge: 3600, force: true });
    await store.activate(next.kid, { minNextAge: 0 });
    expect(events()).toEqual([
      ['oauth2.key.activated', next.kid, 'ES256'],
      ['oauth2.key.retired', first.kid, 'ES256'],
    ]);
  });

  test('retire: retired once; the active key is refused and announces nothing', async () => {
    const active = await inner.generate('ES256', { activate: true });
    const next = await inner.generate('ES256');
    await expect(store.retire(active.kid)).rejects.toMatchObject({ code: 'refused_transition' });
    await store.retire(next.kid);
    await store.retire(next.kid);
    expect(events()).toEqual([['oauth2.key.retired', next.kid, 'ES256']]);
  });

  test('prune: pruned for each key removed, none for a key kept', async () => {
    await inner.generate('ES256', { activate: true });
    const old = await inner.generate('ES256');
    await inner.retire(old.kid, { now: new Date(Date.now() - 7200_000) });
    expect(await store.prune(86400)).toEqual([]);
    expect(sink.events).toEqual([]);
    await store.prune(3600);
    expect(events()).toEqual([['oauth2.key.pruned', old.kid, 'ES256']]);
  });

  test('generate with activate: retired names the key the write replaced, not a snapshot taken before', async () => {
    const first = await inner.generate('ES256', { activate: true });
    const concurrent = await inner.generate('ES256');
    // Another instance activates `concurrent` between this call's start and its write.
    const original = inner.generate.bind(inner);
    inner.generate = async (algorithm, options) => {
      // A millisecond apart at least (the same one is the race the wrapper documents).
      const now = new Date(Date.now() - 1000);
      await inner.activate(concurrent.kid, { minNextAge: 0, force: true, now });
      return original(algorithm, options);
    };
    const second = await store.generate('ES256', { activate: true });
    expect(events()).toEqual([
      ['oauth2.key.generated', second.kid, 'ES256'],
      ['oauth2.key.activated', second.kid, 'ES256'],
      ['oauth2.key.retired', concurrent.kid, 'ES256'],
    ]);
    expect(first.kid).not.toBe(concurrent.kid);
  });

  test('a read that fails or hangs never fails a key change: announced with what is known, and a warning', async () => {
    const warnings: unknown[][] = [];
    let list = () => inner.list();
    // The store's own writes read as they do; only the wrapper's reads fail.
    const unreadable = new (class extends OAuth2KeyStore {
      list = () => list();
      load = () => inner.load();
      generate = inner.generate.bind(inner);
      activate = inner.activate.bind(inner);
      retire = inner.retire.bind(inner);
      prune = inner.prune.bind(inner);
    })();
    const failing = new AuditingOAuth2KeyStore(unreadable, sink, 'cli', {
      timeoutMs: 20,
      logger: { warn: (...args: unknown[]) => void warnings.push(args) },
    });
    const first = await inner.generate('ES256', { activate: true });
    const next = await inner.generate('ES256');
    list = () => Promise.reject(Object.assign(new Error('at db.internal'), { code: 'EX' }));
    const second = await failing.generate('ES256', { activate: true });
    // Unread, a retirement is told by its time: two calls in one millisecond could not be told apart.
    const at = Date.now();
    await failing.retire(next.kid, { now: new Date(at) });
    list = () => new Promise(() => {});
    await failing.retire(next.kid, { now: new Date(at + 1) });
    expect(events()).toEqual([
      ['oauth2.key.generated', second.kid, 'ES256'],
      ['oauth2.key.activated', second.kid, 'ES256'],
      ['oauth2.key.retired', next.kid, 'ES256'],
    ]);
    expect(warnings.map(([, fields]) => fields)).toEqual([
      {
        event: 'oauth2.audit.change_unread',
        reason: 'Error (EX)',
        operation: 'generate',
        kid: second.kid,
      },
      {
        event: 'oauth2.audit.change_unread',
        reason: 'Error (EX)',
        operation: 'retire',
        kid: next.kid,
      },
      {
        event: 'oauth2.audit.change_unread',
        reason: 'no answer within 20 ms',
        operation: 'retire',
        kid: next.kid,
      },
    ]);
    expect(JSON.stringify(warnings)).not.toContain('db.internal');
    expect(first.kid).not.toBe(second.kid);
  });

  test('no event holds key material', async () => {
    await store.generate('RS256', { activate: true });
    const [row] = await dataSource.query(
      'SELECT sealed_private_key, public_jwk FROM oauth_signing_keys',
    );
    const text = JSON.stringify(sink.events);
    expect(text).not.toContain(row.sealed_private_key);
    expect(text).not.toContain(JSON.parse(row.public_jwk).n);
    expect(text).not.toContain(KEK);
  });
});
