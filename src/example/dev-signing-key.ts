import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import type { SigningAlgorithm } from './example-config.js';

type AsymmetricAlgorithm = Exclude<SigningAlgorithm, 'HS256' | 'HS384' | 'HS512'>;

const EC_CURVES: Readonly<Record<string, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};
const RSA_BITS = 2048;

/**
 * The development signing key kept in `file` (PKCS#8 PEM, mode 0600): reused while it fits the algorithm,
 * generated otherwise. Restarts keep issued tokens valid without any key configuration; never for production,
 * where the key must come from a secret store.
 */
export function loadOrCreateDevSigningKey(
  algorithm: AsymmetricAlgorithm,
  file: string,
  logger: LoggerService,
): string {
  const shown = relative(process.cwd(), file) || file;
  const existing = readKey(file);
  if (existing !== undefined && fits(existing.key, algorithm)) {
    logger.warn(
      `Using the development ${algorithm} signing key in ${shown}: for development only; ` +
        'set OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE in production',
    );
    return existing.pem;
  }
  if (existing !== undefined) {
    logger.warn(`${shown} holds no ${algorithm} key: replacing it`);
    rmSync(file);
  }
  const pem = generate(algorithm);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': create only, so the mode applies and no other file is overwritten.
  writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  logger.warn(
    `Generated a development ${algorithm} signing key in ${shown}: for development only; ` +
      'set OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE in production',
  );
  return pem;
}

function readKey(file: string): { pem: string; key: KeyObject | undefined } | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch {
    return { pem, key: undefined };
  }
}

function fits(key: KeyObject | undefined, algorithm: AsymmetricAlgorithm): boolean {
  if (key === undefined) return false;
  const curve = EC_CURVES[algorithm];
  if (curve !== undefined) {
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve;
  }
  return (
    key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= RSA_BITS
  );
}

function generate(algorithm: AsymmetricAlgorithm): string {
  const curve = EC_CURVES[algorithm];
  const { privateKey } =
    curve !== undefined
      ? generateKeyPairSync('ec', { namedCurve: curve })
      : generateKeyPairSync('rsa', { modulusLength: RSA_BITS });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
