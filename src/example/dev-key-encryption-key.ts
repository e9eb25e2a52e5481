import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { parseKeyEncryptionKey } from '../index.js';

/**
 * The development key encryption key kept in `file` (64 hex characters, mode 0600): read when it exists,
 * generated otherwise. Restarts can then open the signing keys the store sealed, without any configuration;
 * never for production, where the key must come from a secret store (OAUTH2_KEY_ENCRYPTION_KEY).
 */
export function loadOrCreateDevKeyEncryptionKey(
  file: string,
  logger: LoggerService,
): { key: Buffer; name: string } {
  const shown = relative(process.cwd(), file) || file;
  const name = `the development key encryption key in ${shown}`;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    logger.warn(
      `Using ${name}: for development only; set OAUTH2_KEY_ENCRYPTION_KEY in production`,
      {
        event: 'example.dev_key_encryption_key.used',
        file: shown,
      },
    );
    return { key: parseKeyEncryptionKey(text, shown), name };
  }
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': create only, so the mode applies and no other file is overwritten.
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  logger.warn(
    `Generated ${name.replace(/^the /, 'a ')}: for development only; set OAUTH2_KEY_ENCRYPTION_KEY ` +
      'in production',
    { event: 'example.dev_key_encryption_key.generated', file: shown },
  );
  return { key, name };
}
