/** Injection token of the options given to `OAuth2ResourceServerModule.forRoot()` / `forRootAsync()`. */
export const OAUTH2_RESOURCE_SERVER_OPTIONS = 'OAUTH2:RESOURCE_SERVER_OPTIONS';
