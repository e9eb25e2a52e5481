import { createRequire } from 'node:module';
import type * as NestTypeOrm from '@nestjs/typeorm';
import type * as TypeOrm from 'typeorm';

/**
 * `typeorm` and `@nestjs/typeorm` are optional peers: an app that keeps its clients in its own storage
 * (`clientRepository`) and its keys in process never installs them. This file is the one place that loads
 * them, so that nothing else of the package imports either at load time.
 *
 * - `typeorm` ships a CommonJS entry (its ESM entry re-exports that one, so both are one copy): it is required
 *   synchronously, no top-level await, so the package still loads through `require(esm)`. The entities
 *   (`OAuthClient`, …) stay decorated classes, as users list them in a DataSource's `entities`: the
 *   decorators below are TypeORM's own, applied when the class is defined if typeorm is installed, and
 *   nothing otherwise. An app with typeorm installed therefore loads it with this package, as it did before;
 *   entity metadata registered later (on first use) would miss a DataSource that lists `OAuthClient` without
 *   calling anything of ours first.
 * - `@nestjs/typeorm` is ESM in Nest 12: it is imported (asynchronously) only when the module wires its
 *   TypeORM storage, through a dynamic module Nest awaits while it scans the app.
 */
const requireHere = createRequire(import.meta.url);

/** What to do when the packages are missing: the one sentence every error of this kind ends with. */
export const TYPEORM_ADVICE =
  'install typeorm and @nestjs/typeorm (`npm install typeorm @nestjs/typeorm` and a driver: ' +
  'better-sqlite3, pg or mysql2), or give OAuth2Module a `clientRepository` (and a `keyStore` other than ' +
  '`true`, or none)';

/** Thrown when TypeORM storage is used but `typeorm` or `@nestjs/typeorm` is not installed. */
export class OAuth2TypeOrmMissingError extends Error {
  override readonly name = 'OAuth2TypeOrmMissingError';

  constructor(
    /** What needed TypeORM: "the TypeORM client storage", "oauth2Migrations()", … */
    what: string,
    /** The package that could not be found. */
    readonly missing: string,
    options?: ErrorOptions,
  ) {
    super(
      `${what} needs the package ${missing}, which is not installed: ${TYPEORM_ADVICE}`,
      options,
    );
  }
}

/** Which of the two packages a load failure says is absent (not: present but broken). */
function absentPackage(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  if (typeof message !== 'string') return undefined;
  // "Cannot find module 'typeorm'" (require), "Cannot find package 'typeorm' imported from …" (import).
  return ['@nestjs/typeorm', 'typeorm'].find((name) => message.includes(`'${name}'`));
}

let typeOrmModule: typeof TypeOrm | null | undefined;

/** typeorm when installed, else undefined; loaded once. A typeorm that is there but fails to load throws. */
export function typeOrmIfInstalled(): typeof TypeOrm | undefined {
  if (typeOrmModule === undefined) {
    try {
      typeOrmModule = requireHere('typeorm') as typeof TypeOrm;
    } catch (error) {
      if (absentPackage(error) !== 'typeorm') throw error;
      typeOrmModule = null;
    }
  }
  return typeOrmModule ?? undefined;
}

/** typeorm, for `what` (named in the error when it is not installed). */
export function typeOrm(what: string): typeof TypeOrm {
  const loaded = typeOrmIfInstalled();
  if (!loaded) throw new OAuth2TypeOrmMissingError(what, 'typeorm');
  return loaded;
}

/** @nestjs/typeorm (and through it typeorm), for `what`; rejects with the advice when either is missing. */
export async function nestTypeOrm(what: string): Promise<typeof NestTypeOrm> {
  try {
    const loaded = await import('@nestjs/typeorm');
    // A CommonJS @nestjs/typeorm (Nest 11) whose names Node could not list ahead is all on `default`.
    return 'TypeOrmModule' in loaded
      ? loaded
      : (loaded as unknown as { default: typeof NestTypeOrm }).default;
  } catch (error) {
    const missing = absentPackage(error);
    if (missing === undefined) throw error;
    throw new OAuth2TypeOrmMissingError(what, missing, { cause: error });
  }
}

type DecoratorName = 'Entity' | 'Column' | 'PrimaryColumn' | 'Index';

/** TypeORM's decorator `name`, applied when typeorm is installed; without it, a decorator that does nothing. */
function whenInstalled<Name extends DecoratorName>(name: Name): (typeof TypeOrm)[Name] {
  const decorator = (...args: unknown[]) => {
    const orm = typeOrmIfInstalled();
    return orm ? (orm[name] as (...given: unknown[]) => unknown)(...args) : () => undefined;
  };
  return decorator as (typeof TypeOrm)[Name];
}

export const Entity = whenInstalled('Entity');
export const Column = whenInstalled('Column');
export const PrimaryColumn = whenInstalled('PrimaryColumn');
export const Index = whenInstalled('Index');
