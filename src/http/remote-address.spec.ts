import { describe, expect, test } from '@jest/globals';
import type { OAuth2HttpRequest } from './http-request.js';
import { addressKey, clientAddressOf, remoteAddressOf } from './remote-address.js';

const request = (fields: Partial<OAuth2HttpRequest>): OAuth2HttpRequest => ({
  method: 'POST',
  headers: {},
  ...fields,
});

describe('remoteAddressOf', () => {
  test('the platform’s request.ip first (it follows the trust-proxy setting), else the socket’s peer', () => {
    expect(
      remoteAddressOf(request({ ip: '203.0.113.7', socket: { remoteAddress: '10.0.0.1' } })),
    ).toBe('203.0.113.7');
    expect(remoteAddressOf(request({ socket: { remoteAddress: '10.0.0.1' } }))).toBe('10.0.0.1');
    expect(remoteAddressOf(request({}))).toBe('unknown');
  });
});

describe('clientAddressOf (what an audit event names)', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    // Whole, not the /64 throttling counts by.
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    // Behind a trusted proxy request.ip is the leftmost X-Forwarded-For entry, which the client writes.
    ['evil\n{"event":"forged"}', 'invalid'],
    ['x'.repeat(10_000), 'invalid'],
    ['203.0.113.256', 'invalid'],
  ])('%j → %j', (ip, expected) => {
    expect(clientAddressOf(request({ ip }))).toBe(expected);
  });

  test('the socket’s peer without request.ip; unknown without either', () => {
    expect(clientAddressOf(request({ socket: { remoteAddress: '10.0.0.1' } }))).toBe('10.0.0.1');
    expect(clientAddressOf(request({}))).toBe('unknown');
  });
});

describe('addressKey', () => {
  test.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:127.0.0.3', '127.0.0.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:1.2.3.4.5', '::ffff:1.2.3.4.5'],
    ['not an address', 'not an address'],
  ])('%s → %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  test('one host’s many IPv6 addresses in a /64 are one key', () => {
    expect(addressKey('2001:db8:a:b:1::1')).toBe(addressKey('2001:db8:a:b:ffff:ffff:ffff:ffff'));
  });
});
