import type { OAuthClientSecret } from '../../src/clients/oauth-client.entity.js';

/** Milliseconds, a moment far from the local zone's offsets, one past 2038 (a 32-bit epoch's end): in order. */
export const T1 = new Date('2031-03-30T01:30:00.123Z');
export const T2 = new Date('2038-01-19T03:14:08.001Z');
export const T3 = new Date('2100-12-31T23:59:59.999Z');

/** A secret of the repository contract: created at T1, never expiring, never used, unless told. */
export const clientSecret = (
  id: string,
  fields: Partial<OAuthClientSecret> = {},
): OAuthClientSecret => ({
  id,
  hash: `hash-of-${id}`,
  createdAt: T1,
  expiresAt: null,
  lastUsedAt: null,
  ...fields,
});
