import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { OAuth2HttpRequest } from './http-request.js';

/**
 * Who sent the request, as failed-authentication throttling counts them: the platform's `request.ip`, which
 * follows its trust-proxy setting (Express `app.set('trust proxy', …)`, Fastify `trustProxy`), else the
 * socket's peer. An IPv4-mapped IPv6 address is its IPv4 address; an IPv6 address stands for its /64, the
 * smallest block a host is usually given, so one host cannot pose as many.
 */
export function remoteAddressOf(request: OAuth2HttpRequest): string {
  const socket = request.socket as { remoteAddress?: unknown } | undefined;
  const ip = typeof request.ip === 'string' ? request.ip : socket?.remoteAddress;
  return typeof ip === 'string' ? addressKey(ip) : 'unknown';
}

/**
 * Who sent the request, as an audit event names them: the same `request.ip` (or socket peer) as
 * `remoteAddressOf()`, but whole (an IPv6 address, not its /64), and only when it is an IP address: behind a
 * trusted proxy `request.ip` is the leftmost `X-Forwarded-For` entry, which a client writes, so anything else is
 * `invalid` rather than a string of the client's choosing in the audit trail.
 */
export function clientAddressOf(request: OAuth2HttpRequest): string {
  const socket = request.socket as { remoteAddress?: unknown } | undefined;
  const ip = typeof request.ip === 'string' ? request.ip : socket?.remoteAddress;
  if (typeof ip !== 'string') return 'unknown';
  // No colon, no IPv6 (nor mapped) address: the usual IPv4 peer skips the IPv6 pattern.
  if (!ip.includes(':')) return isIPv4(ip) ? ip : 'invalid';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  return isIP(ip) === 0 ? 'invalid' : ip;
}

/** The throttling key of an address: IPv4 as is, IPv6 by its /64 prefix. */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('%')[0].split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) takes two groups; the /64 never reaches it.
  const width = right.some((group) => group.includes('.')) ? 7 : 8;
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(width - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
