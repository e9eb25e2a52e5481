import type { CanActivate, INestApplication, Type } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer, Reflector, type ApplicationConfig } from '@nestjs/core';
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
import { PostEndpoint } from '../token/post-endpoint.js';
import { TokenController } from '../token/token.controller.js';

/** Options of `createOAuth2Document()`. */
export interface OAuth2DocumentOptions {
  /** The security scheme's name in `components.securitySchemes`. @default 'oauth2' */
  schemeName?: string;
  /**
   * The token endpoint clients post to (RFC 6749 §3.2), absolute or relative to the document's server.
   * Required for an app on OAuth2ResourceServerModule: give the issuer's `token_endpoint` (RFC 8414 §2).
   * @default the path of the OAuth2Module's token endpoint in the document (`/oauth2/token`, with the app's
   * global prefix if it has one)
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

/** Swagger metadata set on one handler for the scan: its key and the value in force meanwhile. */
type ScanMetadata = [handler: object, key: string, value: (current: unknown) => unknown];

/**
 * The 405 answers of the module's POST endpoints (RFC 9110 §15.5.6) to every other method: routes, not
 * operations a client calls, so they stay out of the document.
 */
const NOT_ALLOWED_HANDLERS = ['options', 'get', 'put', 'patch', 'delete'] as const;
/** Marks the token endpoint's operation during the scan, to read its path as the document has it. */
const TOKEN_ENDPOINT_MARK = 'x-oauth2-token-endpoint';
/** The issuer-path variants of the RFC 8414 §3.1 well-known route (`/{segment0}`…): one operation is enough. */
const WELL_KNOWN_VARIANT = /\/\.well-known\/oauth-authorization-server\/\{segment0\}/;

/**
 * `SwaggerModule.createDocument()` with the OAuth 2.0 client credentials flow (RFC 6749 §4.4): the document
 * gets an `oauth2` security scheme with the token URL and the known scopes, and every route OAuth2Guard
 * protects (per route, per controller or app-wide through `APP_GUARD` / `useGlobalGuards`) gets its security
 * requirement with the scopes `@Scopes()` asks on the route and its controller. `@OAuth2Public()` routes and
 * unguarded routes get none, so the module's own endpoints (token, JWKS, discovery) document no requirement;
 * they are listed by the method a client uses (POST to the token endpoint, GET for the keys and metadata).
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
  const document = withMetadata(
    [
      ...requirements.map(({ handler, scopes }): ScanMetadata => [
        handler,
        DECORATORS.API_SECURITY,
        (current) => withRequirement(current, { [schemeName]: scopes }),
      ]),
      [
        TokenController.prototype.token,
        DECORATORS.API_EXTENSION,
        (current) => ({ ...(current as object | undefined), [TOKEN_ENDPOINT_MARK]: true }),
      ],
      ...NOT_ALLOWED_HANDLERS.map((name): ScanMetadata => [
        PostEndpoint.prototype[name],
        DECORATORS.API_EXCLUDE_ENDPOINT,
        () => ({ disable: true }),
      ]),
    ],
    () => SwaggerModule.createDocument(app, config, documentOptions),
  );
  let tokenPath: string | undefined;
  for (const [path, item] of Object.entries(document.paths)) {
    if (WELL_KNOWN_VARIANT.test(path)) delete document.paths[path];
    const post = item.post as Record<string, unknown> | undefined;
    if (post?.[TOKEN_ENDPOINT_MARK] === true) {
      tokenPath ??= path;
      delete post[TOKEN_ENDPOINT_MARK];
    }
  }
  documentRefusals(document, schemeName);
  const tokenUrl = options.tokenUrl ?? tokenPath ?? defaultTokenUrl(app);
  const scopes = new Map<string, string>();
  for (const scope of requirements.flatMap((requirement) => requirement.scopes)) {
    scopes.set(scope, '');
  }
  for (const [scope, description] of Object.entries(options.scopes ?? {})) {
    scopes.set(scope, description);
  }
  const sortedScopes = [...scopes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const scheme: SecuritySchemeObject = {
    type: 'oauth2',
    ...(options.description === undefined ? {} : { description: options.description }),
    flows: { clientCredentials: { tokenUrl, scopes: Object.fromEntries(sortedScopes) } },
  };
  document.components = {
    ...document.components,
    securitySchemes: { ...document.components?.securitySchemes, [schemeName]: scheme },
  };
  return document;
}

/**
 * Every handler of the app that OAuth2Guard runs for, with its scopes. A handler function shared by two
 * controllers (an inherited route) is listed once per controller, but swagger reads its requirements from the
 * function: two controllers that guard one inherited route with different scopes both show both.
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
 * Sets swagger metadata on handlers while `scan` runs, then puts it back as it was. The scan is synchronous,
 * so nothing else sees the change.
 */
function withMetadata<T>(entries: ScanMetadata[], scan: () => T): T {
  const saved: Array<[handler: object, key: string, own: unknown]> = [];
  try {
    for (const [handler, key, value] of entries) {
      saved.push([handler, key, Reflect.getOwnMetadata(key, handler)]);
      Reflect.defineMetadata(key, value(Reflect.getMetadata(key, handler)), handler);
    }
    return scan();
  } finally {
    // Last set first: a handler listed twice gets back what it had before the first.
    for (const [handler, key, own] of saved.reverse()) {
      if (own === undefined) Reflect.deleteMetadata(key, handler);
      else Reflect.defineMetadata(key, own, handler);
    }
  }
}

/**
 * The host's own requirements (`@ApiOAuth2()`, `@ApiBearerAuth()`) and ours beside them: alternatives, as
 * OpenAPI reads a list of requirements. An inherited route guarded alike in two controllers is listed once.
 */
function withRequirement(current: unknown, requirement: Record<string, string[]>): unknown[] {
  const list = Array.isArray(current) ? current : [];
  const known = list.some((item) => JSON.stringify(item) === JSON.stringify(requirement));
  return known ? list : [...list, requirement];
}

/**
 * The guard's refusals on each operation that requires the scheme, unless the app documents them itself
 * (RFC 6750 §3.1): 401 without a valid token, 403 when the token lacks a scope the route asks for.
 */
function documentRefusals(document: OpenAPIObject, schemeName: string): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Array<Record<string, unknown> | undefined>) {
      const security = operation?.security;
      if (!Array.isArray(security)) continue;
      const ours = security.filter(
        (requirement): requirement is Record<string, string[]> =>
          typeof requirement === 'object' && requirement !== null && schemeName in requirement,
      );
      if (ours.length === 0) continue;
      const responses = (operation!.responses ??= {}) as Record<string, unknown>;
      responses['401'] ??= {
        description:
          'No access token, or one that is expired, revoked or not for this API (RFC 6750 §3.1: ' +
          'WWW-Authenticate: Bearer, error="invalid_token")',
      };
      if (ours.some((requirement) => requirement[schemeName].length > 0)) {
        responses['403'] ??= {
          description:
            'The access token lacks a scope this route needs (RFC 6750 §3.1: insufficient_scope)',
        };
      }
    }
  }
}

/**
 * The app-wide guards: `useGlobalGuards()` and `APP_GUARD` providers (a request-scoped one by its class). Read
 * from the app's ApplicationConfig, as @nestjs/swagger reads the global prefix.
 */
function globalGuards(app: INestApplication): GuardRef[] {
  const config = (app as unknown as { config?: Partial<ApplicationConfig> }).config;
  if (
    typeof config?.getGlobalGuards !== 'function' ||
    typeof config.getGlobalRequestGuards !== 'function'
  ) {
    throw new Error('createOAuth2Document(): the app gives no access to its global guards');
  }
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

/**
 * The token endpoint of the app's OAuth2Module when the document left it out (`include` without the module):
 * its `tokenPath`, from the document's server.
 */
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
