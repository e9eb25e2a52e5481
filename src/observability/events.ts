/**
 * Audit events: what an enterprise security review asks of an authorization server (who got a token for what,
 * which client keeps failing, who changed a secret or a key). Each is a plain, JSON-serialisable object with a
 * stable `type`; none ever holds a secret, a hash, an assertion, key material or a token (a token is named by
 * its `jti` only).
 */

/** Why a client's authentication failed, as counted by `oauth2.client_auth.failures` and reported in events. */
export type OAuth2AuthFailureReason =
  /** No client has the presented id. */
  | 'unknown_client'
  /** The presented secret matches none of the client's live secrets (or a public client presented one). */
  | 'wrong_secret'
  /** The presented secret matches one of the client's secrets, but that secret has expired. */
  | 'expired_secret'
  /** The client authenticated by a method its record does not allow (`token_endpoint_auth_method`). */
  | 'method_not_allowed'
  /** The client is disabled. */
  | 'client_disabled'
  /** A `private_key_jwt` assertion was refused (signature, claims, key, replay). */
  | 'assertion_invalid'
  /** The credentials could not be read: none, several methods at once, a malformed header or body. */
  | 'malformed_credentials'
  /** Refused (429) by failed-authentication throttling before the credentials were checked. */
  | 'throttled';

/** The endpoint a client authenticated at. */
export type OAuth2ClientEndpoint = 'token' | 'revocation' | 'introspection' | 'other';

/** Where a change to a client or a key was made: by the app (its repository, key store) or by the CLI. */
export type OAuth2ChangeSource = 'app' | 'cli';

interface OAuth2EventBase {
  /** When it happened, ISO 8601 (UTC). */
  time: string;
}

/** An access token was issued (RFC 6749 §4.4.3). */
export interface OAuth2TokenIssuedEvent extends OAuth2EventBase {
  type: 'oauth2.token.issued';
  clientId: string;
  /** The granted scopes, in the order of the token's `scope` claim. */
  scopes: string[];
  /** The token's audiences (`aud`). */
  audience: string[];
  jti: string;
  /** Seconds from `iat` to `exp`. */
  lifetime: number;
  /** How the client authenticated (`client_secret_basic`, `private_key_jwt`, …). */
  authMethod: string;
  remoteAddress: string;
}

/** A client failed to authenticate (RFC 6749 §5.2 `invalid_client`, or a 429 from throttling). */
export interface OAuth2ClientAuthFailedEvent extends OAuth2EventBase {
  type: 'oauth2.client_auth.failed';
  /** The client id as presented, cut to 80 characters with control characters escaped; null when none was. */
  clientId: string | null;
  reason: OAuth2AuthFailureReason;
  /** The method the request used, when one could be told. */
  authMethod: string | null;
  endpoint: OAuth2ClientEndpoint;
  remoteAddress: string;
}

/** A secret was added to a client (`client add-secret`, `rotate-secret`'s new secret, `addSecret()`). */
export interface OAuth2ClientSecretAddedEvent extends OAuth2EventBase {
  type: 'oauth2.client.secret_added';
  clientId: string;
  secretId: string;
  /** When the secret stops working, ISO 8601; null when it does not expire. */
  expiresAt: string | null;
  source: OAuth2ChangeSource;
}

/**
 * A client's secret was revoked: removed, cleared (`primary`), or set to expire (`expireSecrets()`: now, or
 * later, never later than it would have).
 */
export interface OAuth2ClientSecretRevokedEvent extends OAuth2EventBase {
  type: 'oauth2.client.secret_revoked';
  clientId: string;
  secretId: string;
  /** When it stops working, ISO 8601: the time of the change when removed or revoked at once. */
  expiresAt: string;
  source: OAuth2ChangeSource;
}

/** A client's secrets were rotated: a new secret added, the previous ones set to expire. */
export interface OAuth2ClientSecretRotatedEvent extends OAuth2EventBase {
  type: 'oauth2.client.secret_rotated';
  clientId: string;
  /** The new secret's id. */
  secretId: string;
  /** When the previous secrets stop working, ISO 8601 (now when they were revoked at once). */
  previousExpireAt: string;
  source: OAuth2ChangeSource;
}

/** A client was created, changed or deleted through the repository. */
export interface OAuth2ClientChangedEvent extends OAuth2EventBase {
  type: 'oauth2.client.created' | 'oauth2.client.updated' | 'oauth2.client.deleted';
  clientId: string;
  /** For `updated`: the names of the fields (OAuthClient properties) that changed, never their values. */
  fields?: string[];
  source: OAuth2ChangeSource;
}

/**
 * A signing key was generated (published as `next`, or active at once), activated (became the one that
 * signs), retired (signs no more; still verifies its tokens) or pruned (removed from the key store).
 */
export interface OAuth2KeyEvent extends OAuth2EventBase {
  type:
    'oauth2.key.generated' | 'oauth2.key.activated' | 'oauth2.key.retired' | 'oauth2.key.pruned';
  kid: string;
  algorithm: string;
  source: OAuth2ChangeSource;
}

/** An access token (RFC 7009), or every token of a client issued so far, was revoked. */
export interface OAuth2TokenRevokedEvent extends OAuth2EventBase {
  type: 'oauth2.token.revoked';
  /** The client whose token(s) were revoked. */
  clientId: string;
  /** The revoked token's `jti`; null when every token of the client issued before `notBefore` was revoked. */
  jti: string | null;
  /** For a client-wide revocation: tokens issued before this time (ISO 8601) are refused. */
  notBefore?: string;
  source: OAuth2ChangeSource;
}

/** A client introspected a token (RFC 7662). */
export interface OAuth2TokenIntrospectedEvent extends OAuth2EventBase {
  type: 'oauth2.token.introspected';
  /** The client that asked. */
  clientId: string;
  active: boolean;
  /** The token's `jti` and client, when it was active. */
  jti?: string;
  tokenClientId?: string;
  remoteAddress: string;
}

export type OAuth2Event =
  | OAuth2TokenIssuedEvent
  | OAuth2ClientAuthFailedEvent
  | OAuth2ClientSecretAddedEvent
  | OAuth2ClientSecretRevokedEvent
  | OAuth2ClientSecretRotatedEvent
  | OAuth2ClientChangedEvent
  | OAuth2KeyEvent
  | OAuth2TokenRevokedEvent
  | OAuth2TokenIntrospectedEvent;

export type OAuth2EventType = OAuth2Event['type'];

/** An event as it is given to `emit()`: its `time` is filled in when left out. */
export type OAuth2EventInput = OAuth2Event extends infer E
  ? E extends OAuth2Event
    ? Omit<E, 'time'> & { time?: string }
    : never
  : never;

/**
 * Where audit events go. The default writes one structured log line each through Nest's Logger (context
 * `OAuth2Audit`) and, when the host app registers `EventEmitterModule` (@nestjs/event-emitter), also emits each
 * on its EventEmitter2 under the event's `type`. Replace it with `.overrideProvider(OAuth2EventSink)` or the
 * `eventSink` extra to send events elsewhere. `emit` must not throw, and must not wait for I/O: it runs on the
 * request path.
 */
export abstract class OAuth2EventSink {
  abstract emit(event: OAuth2EventInput): void;
}
