import { types } from 'node:util';

/**
 * A one-line description of a storage failure that is safe to log: the error's class and code only. Driver
 * messages can quote SQL, parameters, host names or credentials from a connection string.
 */
export function describeStorageError(error: unknown): string {
  // isNativeError also recognises errors from another realm (a driver loaded outside a VM context).
  if (!(error instanceof Error) && !types.isNativeError(error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number'
    ? `${error.name} (${code})`
    : error.name;
}
