import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { ConsoleLogger, Logger, type ConsoleLoggerOptions } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import {
  createDefaultEventSink,
  DefaultOAuth2EventSink,
  type OAuth2EventEmitter,
} from './default-event.sink.js';
import type { OAuth2EventInput } from './events.js';

const ISSUED: OAuth2EventInput = {
  type: 'oauth2.token.issued',
  clientId: 'svc',
  scopes: ['reports:read'],
  audience: ['https://api.example.com'],
  jti: 'jti-1',
  lifetime: 3600,
  authMethod: 'client_secret_basic',
  remoteAddress: '203.0.113.7',
};

/** What Nest's ConsoleLogger writes while `run` runs, with `options`. */
function printed(options: ConsoleLoggerOptions, run: () => void) {
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  Logger.overrideLogger(new ConsoleLogger({ colors: false, ...options }));
  try {
    run();
  } finally {
    write.mockRestore();
  }
  return written.join('');
}

/** A logger that keeps its calls: (level, message, fields). */
function capturing() {
  const calls: Array<[string, unknown, unknown]> = [];
  Logger.overrideLogger({
    log: (message: unknown, fields: unknown) => calls.push(['log', message, fields]),
    warn: (message: unknown, fields: unknown) => calls.push(['warn', message, fields]),
    error: (message: unknown, fields: unknown) => calls.push(['error', message, fields]),
  });
  return calls;
}

afterEach(() => {
  Logger.overrideLogger(new ConsoleLogger());
});

describe('DefaultOAuth2EventSink: the log line', () => {
  test('text mode: one line, the message for people, then the fields with `event`', () => {
    const out = printed({}, () =>
      new DefaultOAuth2EventSink().emit({ ...ISSUED, time: '2026-01-02T03:04:05.000Z' }),
    );
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ LOG \[OAuth2Audit\] Token issued to client "svc" \{ event: /);
    expect(lines[0]).toContain(
      "{ event: 'oauth2.token.issued', clientId: 'svc', scopes: [ 'reports:read' ], audience: [ 'https://api.example.com' ], jti: 'jti-1', lifetime: 3600, authMethod: 'client_secret_basic', remoteAddress: '203.0.113.7', time: '2026-01-02T03:04:05.000Z' }",
    );
  });

  test('JSON mode: one JSON object, the fields under `params`', () => {
    const out = printed({ json: true }, () => new DefaultOAuth2EventSink().emit(ISSUED));
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]);
    expect(record).toEqual({
      level: 'log',
      pid: process.pid,
      timestamp: expect.any(Number),
      context: 'OAuth2Audit',
      message: 'Token issued to client "svc"',
      // No `time` of the event's own: the line's `timestamp` is when it happened.
      params: { event: 'oauth2.token.issued', ...omitType(ISSUED) },
    });
  });

  test('the line leaves the time to the logger, keeps one given; the emitted event always has it', () => {
    const calls = capturing();
    const emitted: unknown[] = [];
    const sink = new DefaultOAuth2EventSink({ emit: (_type, event) => emitted.push(event) > 0 });
    const before = Date.now();
    sink.emit(ISSUED);
    sink.emit({ ...ISSUED, time: '2020-01-01T00:00:00.000Z' });
    const [first, second] = calls.map(([, , fields]) => (fields as { time?: string }).time);
    expect(first).toBeUndefined();
    expect(second).toBe('2020-01-01T00:00:00.000Z');
    const [now, given] = emitted.map((event) => (event as { time: string }).time);
    expect(Date.parse(now!)).toBeGreaterThanOrEqual(before);
    expect(now).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(given).toBe('2020-01-01T00:00:00.000Z');
  });

  test.each<[OAuth2EventInput, string]>([
    [
      {
        type: 'oauth2.client_auth.failed',
        clientId: null,
        reason: 'malformed_credentials',
        authMethod: null,
        endpoint: 'token',
        remoteAddress: '::1',
      },
      'Client authentication failed (malformed_credentials) at the token endpoint',
    ],
    [
      { type: 'oauth2.token.revoked', clientId: 'svc', jti: null, notBefore: 'x', source: 'app' },
      'Every token of client "svc" revoked',
    ],
    [
      { type: 'oauth2.token.revoked', clientId: 'svc', jti: 'j', source: 'app' },
      'Token of client "svc" revoked',
    ],
    [
      { type: 'oauth2.key.activated', kid: 'k1', algorithm: 'ES256', source: 'cli' },
      'Signing key "k1" activated',
    ],
    [
      {
        type: 'oauth2.client.secret_rotated',
        clientId: 'svc',
        secretId: 's2',
        previousExpireAt: 'x',
        source: 'cli',
      },
      'Secrets of client "svc" rotated',
    ],
    [
      { type: 'oauth2.token.introspected', clientId: 'rs', active: false, remoteAddress: '::1' },
      'Token introspected by client "rs" (inactive)',
    ],
  ])('%j reads "%s"', (event, message) => {
    const calls = capturing();
    new DefaultOAuth2EventSink().emit(event);
    expect(calls).toEqual([['log', message, expect.objectContaining({ event: event.type })]]);
  });
});

describe('DefaultOAuth2EventSink: EventEmitter2', () => {
  test('each event on the emitter under its type, the time filled in', () => {
    capturing();
    const emit = jest.fn<OAuth2EventEmitter['emit']>(() => true);
    new DefaultOAuth2EventSink({ emit }).emit(ISSUED);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith('oauth2.token.issued', {
      ...ISSUED,
      time: expect.any(String),
    });
  });

  test('a listener that throws never fails the emit; it is logged once per event type', () => {
    const calls = capturing();
    const sink = new DefaultOAuth2EventSink({
      emit: () => {
        throw new TypeError('listener broke with a secret in its message');
      },
    });
    expect(() => {
      sink.emit(ISSUED);
      sink.emit(ISSUED);
      sink.emit({ type: 'oauth2.token.revoked', clientId: 'svc', jti: 'j', source: 'app' });
    }).not.toThrow();
    const warnings = calls.filter(([level]) => level === 'warn');
    expect(warnings.map(([, message, fields]) => [message, fields])).toEqual([
      [
        'A listener of oauth2.token.issued threw (TypeError); reported once per event type',
        { event: 'oauth2.events.listener_failed', type: 'oauth2.token.issued' },
      ],
      [
        'A listener of oauth2.token.revoked threw (TypeError); reported once per event type',
        { event: 'oauth2.events.listener_failed', type: 'oauth2.token.revoked' },
      ],
    ]);
    expect(JSON.stringify(calls)).not.toContain('secret in its message');
  });

  test('a logger that throws does not keep the event from the emitter', () => {
    Logger.overrideLogger({
      log: () => {
        throw new Error('logger down');
      },
      warn: () => {},
      error: () => {},
    });
    const emit = jest.fn<OAuth2EventEmitter['emit']>(() => true);
    expect(() => new DefaultOAuth2EventSink({ emit }).emit(ISSUED)).not.toThrow();
    expect(emit).toHaveBeenCalledTimes(1);
  });

  test('createDefaultEventSink looks the emitter up once, at the first event, not strictly', async () => {
    capturing();
    const emit = jest.fn<OAuth2EventEmitter['emit']>(() => true);
    const get = jest.fn(() => ({ emit }));
    const sink = await createDefaultEventSink({ get } as unknown as ModuleRef);
    expect(get).not.toHaveBeenCalled();
    sink.emit(ISSUED);
    sink.emit(ISSUED);
    expect(get).toHaveBeenCalledTimes(1);
    expect(get.mock.calls[0]).toEqual([expect.any(Function), { strict: false }]);
    expect(emit).toHaveBeenCalledTimes(2);
  });

  test('without a registered EventEmitterModule, only the log line (looked up once)', async () => {
    const calls = capturing();
    const get = jest.fn(() => {
      throw new Error('Nest could not find EventEmitter2 element');
    });
    const sink = await createDefaultEventSink({ get } as unknown as ModuleRef);
    sink.emit(ISSUED);
    sink.emit(ISSUED);
    expect(get).toHaveBeenCalledTimes(1);
    expect(calls.filter(([level]) => level === 'log')).toHaveLength(2);
  });
});

function omitType({ type: _type, ...rest }: OAuth2EventInput) {
  return rest;
}
