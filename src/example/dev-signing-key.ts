import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import {
  ASYMMETRIC_ALGORITHMS,
  checkKeyFitsAlgorithm,
  EC_CURVES,
  RSA_MIN_BITS,
} from '../keys/signing-keys.js';

type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

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

/** The library's own rule of which key fits which algorithm. */
function fits(key: KeyObject | undefined, algorithm: AsymmetricAlgorithm): boolean {
  if (key === undefined) return false;
  try {
    checkKeyFitsAlgorithm(key, algorithm);
    return true;
  } catch {
    return false;
  }
}

function generate(algorithm: AsymmetricAlgorithm): string {
  const curve = (EC_CURVES as Readonly<Record<string, string>>)[algorithm];
  const { privateKey } =
    curve !== undefined
      ? generateKeyPairSync('ec', { namedCurve: curve })
      : generateKeyPairSync('rsa', { modulusLength: RSA_MIN_BITS });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
