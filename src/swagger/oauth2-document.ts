import type { CanActivate, INestApplication, Type } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import {
  DECORATORS,
  SwaggerModule,
  type OpenAPIObject,
  type SecuritySchemeObject,
  type SwaggerDocumentOptions,
} from '@nestjs/swagger';
import { OAuth2Guard } from '../resource/oauth2.guard.js';
import { OAUTH2_PUBLIC_METADATA } from '../resource/oauth2-public.decorator.js';
import { OAUTH2_SCOPES_METADATA } from '../resource/scopes.decorator.js';
import { OAUTH2_ROUTES, type OAuth2Routes } from '../token/discovery.controller.js';

/** Options of `createOAuth2Document()`. */
export interface OAuth2DocumentOptions {
  /** The security scheme's name in `components.securitySchemes`. @default 'oauth2' */
  schemeName?: string;
  /**
   * The token endpoint clients post to (RFC 6749 §3.2), absolute or relative to the document's server.
   * Required for an app on OAuth2ResourceServerModule: give the issuer's `token_endpoint` (RFC 8414 §2).
   * @default the OAuth2Module's `tokenPath`, as `/oauth2/token`
   */
  tokenUrl?: string;
  /**
   * A description per scope, shown in Swagger UI's dialog. Scopes named here and on no route are listed too.
   * @default every scope of an `@Scopes()` on a guarded route, without a description
   */
  scopes?: Readonly<Record<string, string>>;
  /** The scheme's description. @default none */
  description?: string;
}

/** What one guarded handler needs: the scopes of its route and its controller, as OAuth2Guard merges them. */
interface Requirement {
  handler: object;
  scopes: string[];
}

type GuardRef = Type<CanActivate> | CanActivate;

/**
 * `SwaggerModule.createDocument()` with the OAuth 2.0 client credentials flow (RFC 6749 §4.4): the document
 * gets an `oauth2` security scheme with the token URL and the known scopes, and every route OAuth2Guard
 * protects (per route, per controller or app-wide through `APP_GUARD` / `useGlobalGuards`) gets its security
 * requirement with the scopes `@Scopes()` asks on the route and its controller. `@OAuth2Public()` routes and
 * unguarded routes get none, so the module's own endpoints (token, JWKS, discovery) document no requirement.
 *
 * Why it builds the document rather than patching a finished one: an operation of a finished document no
 * longer says which handler it came from (an `operationIdFactory` renames it, a global prefix, versioning or
 * a route with several paths reshapes its path). So it writes each guarded handler's requirement where
 * @nestjs/swagger reads its own `@ApiOAuth2()`, for the one synchronous scan, and removes it after: swagger
 * maps it to every path the route has, and the controller classes are left as they were (another app made of
 * the same controllers, with or without a global guard, gets its own answer). A DocumentBuilder step could
 * not do it: the builder never sees the app's routes. Nothing is declared twice: the guard and `@Scopes()`
 * are the only source.
 *
 * ```ts
 * const config = new DocumentBuilder().setTitle('Reports').build();
 * SwaggerModule.setup('docs', app, () => createOAuth2Document(app, config));
 * ```
 */
export function createOAuth2Document(
  app: INestApplication,
  config: Omit<OpenAPIObject, 'paths'>,
  options: OAuth2DocumentOptions = {},
  documentOptions: SwaggerDocumentOptions = {},
): OpenAPIObject {
  const schemeName = options.schemeName ?? 'oauth2';
  const requirements = guardedHandlers(app);
  const tokenUrl = options.tokenUrl ?? defaultTokenUrl(app);
  const document = withRequirements(requirements, schemeName, () =>
    SwaggerModule.createDocument(app, config, documentOptions),
  );
  const scopes = new Map<string, string>();
  for (const scope of requirements.flatMap((requirement) => requirement.scopes).sort()) {
    scopes.set(scope, '');
  }
  for (const [scope, description] of Object.entries(options.scopes ?? {})) {
    scopes.set(scope, description);
  }
  const scheme: SecuritySchemeObject = {
    type: 'oauth2',
    ...(options.description === undefined ? {} : { description: options.description }),
    flows: { clientCredentials: { tokenUrl, scopes: Object.fromEntries(scopes) } },
  };
  document.components = {
    ...document.components,
    securitySchemes: { ...document.components?.securitySchemes, [schemeName]: scheme },
  };
  return document;
}

/**
 * Every handler of the app that OAuth2Guard runs for, with its scopes. A handler function shared by two
 * controllers (an inherited route) is listed once per controller; swagger reads one requirement per function.
 */
function guardedHandlers(app: INestApplication): Requirement[] {
  const reflector = new Reflector();
  const scanner = new MetadataScanner();
  const global = globalGuards(app).some(isOAuth2Guard);
  const requirements: Requirement[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      const controllerGuarded = guardsOf(metatype).some(isOAuth2Guard);
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function') continue;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        // The guard's own reading of its metadata (src/resource/oauth2.guard.ts).
        const targets = [handler, metatype];
        if (reflector.getAllAndOverride<boolean>(OAUTH2_PUBLIC_METADATA, targets)) continue;
        if (!global && !controllerGuarded && !guardsOf(handler).some(isOAuth2Guard)) continue;
        const scopes = reflector.getAllAndMerge<string[]>(OAUTH2_SCOPES_METADATA, targets) ?? [];
        requirements.push({ handler, scopes: [...new Set(scopes)] });
      }
    }
  }
  return requirements;
}

/**
 * Adds each requirement to its handler's swagger security metadata while `scan` runs, then puts the metadata
 * back as it was. The scan is synchronous, so nothing else sees the change.
 */
function withRequirements<T>(requirements: Requirement[], schemeName: string, scan: () => T): T {
  const saved = new Map<object, unknown>();
  for (const { handler } of requirements) {
    if (!saved.has(handler)) {
      saved.set(handler, Reflect.getOwnMetadata(DECORATORS.API_SECURITY, handler));
    }
  }
  try {
    for (const { handler, scopes } of requirements) {
      const current = (Reflect.getMetadata(DECORATORS.API_SECURITY, handler) ?? []) as unknown[];
      const requirement = { [schemeName]: scopes };
      // An inherited route guarded alike in two controllers is one requirement, not two.
      const known = current.some((item) => JSON.stringify(item) === JSON.stringify(requirement));
      if (!known) {
        Reflect.defineMetadata(DECORATORS.API_SECURITY, [...current, requirement], handler);
      }
    }
    return scan();
  } finally {
    for (const [handler, metadata] of saved) {
      if (metadata === undefined) Reflect.deleteMetadata(DECORATORS.API_SECURITY, handler);
      else Reflect.defineMetadata(DECORATORS.API_SECURITY, metadata, handler);
    }
  }
}

/**
 * The app-wide guards: `useGlobalGuards()` and `APP_GUARD` providers (a request-scoped one by its class). Read
 * from the app's ApplicationConfig, as @nestjs/swagger reads the global prefix.
 */
function globalGuards(app: INestApplication): GuardRef[] {
  const config = (app as unknown as { config?: ApplicationConfig }).config;
  if (!(config instanceof ApplicationConfig)) return [];
  return [
    ...config.getGlobalGuards(),
    ...config
      .getGlobalRequestGuards()
      .map((wrapper) => wrapper.metatype as Type<CanActivate> | null)
      .filter((metatype): metatype is Type<CanActivate> => typeof metatype === 'function'),
  ];
}

function guardsOf(target: object): GuardRef[] {
  return (Reflect.getMetadata(GUARDS_METADATA, target) ?? []) as GuardRef[];
}

/** OAuth2Guard or a subclass of it, by class (`@UseGuards(OAuth2Guard)`) or instance. */
function isOAuth2Guard(guard: GuardRef): boolean {
  return typeof guard === 'function'
    ? guard === OAuth2Guard || guard.prototype instanceof OAuth2Guard
    : guard instanceof OAuth2Guard;
}

/** The token endpoint of the app's OAuth2Module, as a path from the document's server. */
function defaultTokenUrl(app: INestApplication): string {
  let routes: OAuth2Routes;
  try {
    routes = app.get<OAuth2Routes>(OAUTH2_ROUTES, { strict: false });
  } catch {
    throw new Error(
      'createOAuth2Document(): this app has no OAuth2Module token endpoint (an OAuth2ResourceServerModule ' +
        "app?): pass `tokenUrl`, the issuer's token_endpoint",
    );
  }
  return `/${routes.tokenPath.replace(/^\/+/, '')}`;
}
