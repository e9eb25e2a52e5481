/** Injection token of the options given to `OAuth2Module.forRoot()` / `forRootAsync()`. */
export const OAUTH2_MODULE_OPTIONS = 'OAUTH2:MODULE_OPTIONS';
/** Internal token of the configured client storage, before the lookup cache wraps it. */
export const OAUTH2_CLIENT_STORE = 'OAUTH2:CLIENT_STORE';
/** Injection token of the token endpoint's path (the `tokenPath` extra). */
export const OAUTH2_TOKEN_PATH = 'OAUTH2:TOKEN_PATH';

/**
 * Passport keeps one process-wide strategy registry: namespaced names keep ours from replacing a host app's own
 * `'basic'` strategy (and theirs from replacing ours).
 */
export const OAUTH2_CLIENT_BASIC_STRATEGY = 'oauth2-client-basic';
export const OAUTH2_CLIENT_BODY_STRATEGY = 'oauth2-client-body';

export const OAUTH2_SCOPES_METADATA = 'OAUTH2:SCOPES';
export const OAUTH2_PUBLIC_METADATA = 'OAUTH2:PUBLIC';

export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

export const DEFAULT_TOKEN_PATH = 'oauth2/token';
export const DEFAULT_ACCESS_TOKEN_LIFETIME = 3600;
export const DEFAULT_REALM = 'Service';

/** RFC 6749 §5.1: token endpoint responses must not be cached, errors included. */
export const NO_STORE_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
