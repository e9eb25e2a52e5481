import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/** One ES256 key pair per test file: key generation is the slow part of building an app. */
export const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
/** Another key: tokens it signs must be refused. */
export const otherEs256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

export const pem = (key: KeyObject): string =>
  key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }).toString();
