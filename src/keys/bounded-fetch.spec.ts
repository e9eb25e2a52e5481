import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fetchJson, maxAgeOf, RemoteDocumentError } from './bounded-fetch.js';
import { json, startServer, type TestServer } from '../../test/support/http-server.js';
import { rejectedAs } from '../../test/support/thrown.js';

const LIMITS = { timeoutMs: 300, maxBytes: 1024 };

describe('maxAgeOf (RFC 9111 §5.2.2)', () => {
  test.each<[string | null, number | undefined]>([
    [null, undefined],
    ['', undefined],
    ['public', undefined],
    ['max-age=300', 300],
    ['public, max-age=120, must-revalidate', 120],
    ['Max-Age=60', 60],
    ['max-age=0', 0],
    ['max-age=-5', undefined],
    ['max-age="60"', undefined],
    ['max-age=abc', undefined],
    ['max-age=600, no-cache', 0],
    ['no-store', 0],
    ['max-age=99999999999999999999', Number.MAX_SAFE_INTEGER],
  ])('%j → %j', (header, maxAge) => {
    expect(maxAgeOf(header)).toBe(maxAge);
  });
});

describe('fetchJson', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(json({}));
  });
  afterAll(() => server.close());

  const failure = async (limits = LIMITS): Promise<string> =>
    (await rejectedAs(RemoteDocumentError, fetchJson(`${server.url}/doc`, limits))).message;

  test('the document and its max-age', async () => {
    server.handle(json({ keys: [] }, { 'cache-control': 'public, max-age=90' }));
    await expect(fetchJson(`${server.url}/doc`, LIMITS)).resolves.toEqual({
      body: { keys: [] },
      maxAge: 90,
    });
  });

  test('an HTTP error status, kept on the error', async () => {
    server.handle((_req, res) => res.writeHead(500).end('{}'));
    const error = await rejectedAs(RemoteDocumentError, fetchJson(`${server.url}/doc`, LIMITS));
    expect({ message: error.message, status: error.status }).toEqual({
      message: 'answered HTTP 500',
      status: 500,
    });
  });

  test('a form POST: method, headers and the urlencoded body', async () => {
    let seen: { method?: string; headers: Record<string, unknown>; body: string } | undefined;
    server.handle((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen = { method: req.method, headers: req.headers, body };
        json({ active: false })(req, res);
      });
    });
    const post = { form: { token: 'a b+c&d', hint: 'x' }, authorization: 'Basic eDp5' };
    await expect(fetchJson(`${server.url}/doc`, LIMITS, fetch, post)).resolves.toEqual({
      body: { active: false },
      maxAge: undefined,
    });
    expect(seen).toMatchObject({
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Basic eDp5',
      },
      body: 'token=a+b%2Bc%26d&hint=x',
    });
  });

  test('a redirect is not followed', async () => {
    server.handle((_req, res) => res.writeHead(302, { location: '/elsewhere' }).end());
    expect(await failure()).toMatch(/^unreachable \(/);
    expect(server.requests.at(-1)).toBe('/doc');
  });

  test('a declared length over the limit is refused before reading', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-length': '2048' });
      res.end('x'.repeat(2048));
    });
    expect(await failure()).toBe('answered with more than 1024 bytes');
  });

  test('a chunked body is abandoned past the limit', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // 2 MB in chunks, no Content-Length.
      for (let i = 0; i < 32; i++) res.write('x'.repeat(64 * 1024));
      res.end();
    });
    expect(await failure()).toBe('answered with more than 1024 bytes');
  });

  test('exactly the limit is read', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(1024 - 10) });
    expect(body).toHaveLength(1024);
    server.handle((_req, res) => res.writeHead(200).end(body));
    await expect(fetchJson(`${server.url}/doc`, LIMITS)).resolves.toMatchObject({
      body: { pad: expect.any(String) },
    });
  });

  test('no headers within the timeout', async () => {
    server.handle(() => undefined);
    expect(await failure()).toBe('no answer within 300 ms');
  });

  test('a body that trickles past the timeout', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":');
    });
    expect(await failure()).toBe('no answer within 300 ms');
  });

  test.each([
    ['not JSON', '<html>keys</html>', 'answered with a body that is not JSON'],
    ['an empty body', '', 'answered with a body that is not JSON'],
  ])('%s', async (_name, body, message) => {
    server.handle((_req, res) => res.writeHead(200).end(body));
    expect(await failure()).toBe(message);
  });

  test('a body that is not UTF-8', async () => {
    server.handle((_req, res) => res.writeHead(200).end(Buffer.from([0x7b, 0xff, 0x7d])));
    expect(await failure()).toBe('answered with a body that is not UTF-8');
  });

  test('nobody listening', async () => {
    const gone = await startServer(json({}));
    await gone.close();
    const error = await rejectedAs(RemoteDocumentError, fetchJson(`${gone.url}/doc`, LIMITS));
    expect(error.message).toBe('unreachable (ECONNREFUSED)');
  });
});
