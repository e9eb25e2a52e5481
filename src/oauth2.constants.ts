/** Injection token of the options given to `OAuth2Module.forRoot()` / `forRootAsync()`. */
export const OAUTH2_MODULE_OPTIONS = 'OAUTH2:MODULE_OPTIONS';
/** Internal token of the configured client storage, before the lookup cache wraps it. */
export const OAUTH2_CLIENT_STORE = 'OAUTH2:CLIENT_STORE';
/** Internal token of the configured key store, before the audit events wrap it. */
export const OAUTH2_KEY_STORE = 'OAUTH2:KEY_STORE';
/** The configured event sink (the default one, or the `eventSink` extra), before the module guards it. */
export const OAUTH2_EVENT_SINK = 'OAUTH2:EVENT_SINK';
