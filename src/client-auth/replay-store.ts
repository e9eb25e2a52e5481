/**
 * Where the token endpoint remembers the client assertions it accepted, so that none is accepted twice
 * (RFC 7523 §3 item 7: the `jti` of a JWT may be used once; RFC 7521 §5.2). It is the DI token: provide
 * your own (a shared store, such as Redis, when several instances serve one issuer) with
 * `.overrideProvider(OAuth2ReplayStore)` or in your module. The default keeps them in this process's memory.
 */
export abstract class OAuth2ReplayStore {
  /**
   * Records `key` until `expiresAt`, atomically: true the first time, false while an earlier claim of the
   * same key has not expired, and false for an `expiresAt` already past (a lapsed claim must never be
   * recorded as granted). Keys are opaque, bounded strings (a digest of the client id and the `jti`). A store
   * that fails throws: the token endpoint answers 503.
   */
  abstract claim(key: string, expiresAt: Date): Promise<boolean>;
}
