import {
  createParamDecorator,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { clientAddressOf, remoteAddressOf } from '../http/remote-address.js';
import {
  OAuth2EventSink,
  type OAuth2AuthFailureReason,
  type OAuth2ClientEndpoint,
} from '../observability/events.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { refusal, refusalReason } from './auth-failure.js';
import { ClientAuthMethods, type ClientAuthMethod } from './client-auth-methods.js';
import { ClientAuthThrottle, type ThrottleVerdict } from './client-auth-throttle.js';
import { SecretVerifier } from './secret-verifier.js';

/** Where Passport puts the authenticated client (its `property` option, `user` by default). */
const CLIENT_PROPERTY = 'oauth2Client';
/** Where the guard records the method the client authenticated by, so that nothing detects it again. */
const METHOD = Symbol('oauth2.clientAuthMethod');
const ENDPOINT_METADATA = 'oauth2:client-auth-endpoint';
/** The longest client id an audit event repeats (RFC 6749 Appendix A.1 sets no bound; our column is 80). */
const MAX_REPORTED_CLIENT_ID = 80;

/** Names the endpoint a controller (or handler) is, for audit events and metrics; else it is `other`. */
export const ClientAuthEndpoint = (
  endpoint: OAuth2ClientEndpoint,
): ClassDecorator & MethodDecorator => SetMetadata(ENDPOINT_METADATA, endpoint);

/** The endpoint a request reached: its handler's or controller's `@ClientAuthEndpoint()`, else `other`. */
export function clientAuthEndpointOf(
  context: Pick<ExecutionContext, 'getHandler' | 'getClass'>,
): OAuth2ClientEndpoint {
  const handler = context.getHandler?.();
  const controller = context.getClass?.();
  return (
    (handler && Reflect.getMetadata(ENDPOINT_METADATA, handler)) ??
    (controller && Reflect.getMetadata(ENDPOINT_METADATA, controller)) ??
    'other'
  );
}

/**
 * Passport's AuthGuard for one strategy, answering a refusal with the RFC 6749 §5.2 invalid_client. A strategy
 * that fails without an error is refused for `failed`: passport-http's Basic fails only on a scheme that is not
 * Basic (malformed credentials); a host app's own method fails on credentials that do not prove the client.
 */
function passportGuard(strategy: string, failed: OAuth2AuthFailureReason): IAuthGuard {
  class ClientStrategyGuard extends (AuthGuard(strategy) as Type<IAuthGuard>) {
    override handleRequest<T>(error: unknown, client: T): T {
      if (error) throw error;
      if (!client) throw refusal(failed);
      return client;
    }
  }
  return new ClientStrategyGuard({ session: false, property: CLIENT_PROPERTY });
}

/**
 * Authenticates the client of a request to the token endpoint (or to any route of yours that takes client
 * credentials) through exactly one Passport strategy: the one whose method the request carries.
 */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  private readonly guards = new Map<string, IAuthGuard>();

  constructor(
    private readonly methods: ClientAuthMethods,
    private readonly throttle: ClientAuthThrottle,
    private readonly verifier: SecretVerifier,
    private readonly events: OAuth2EventSink,
    private readonly metrics: OAuth2Metrics,
  ) {}

  /**
   * Throttling wraps the strategy: an attempt is refused (429) or delayed by the failures counted for its
   * client id and address, a failure is counted, and a success clears its address's count. Every 401 takes at
   * least one KDF derivation's time (a timer, not work), so an unknown id, a disabled client or a wrong
   * generated secret cannot be told by timing from a wrong chosen secret. Each refusal is reported once: an
   * `oauth2.client_auth.failed` event and `OAuth2Metrics.authFailure()`, with its reason.
   */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuth2HttpRequest>();
    const address = remoteAddressOf(request);
    let method: ClientAuthMethod | undefined;
    let clientId: string | undefined;
    let verdict: ThrottleVerdict | undefined;
    let started = performance.now();
    try {
      method = this.methods.methodFor(request);
      clientId = method.clientIdOf(request);
      if (clientId !== undefined) {
        verdict = await this.throttle.admit(clientId, address);
        if (verdict.delayMs > 0) await sleep(verdict.delayMs);
        started = performance.now();
      }
      await this.strategyGuard(method).canActivate(context);
      const client = (request as unknown as Record<string, OAuthClient>)[CLIENT_PROPERTY];
      if (!admits(client, method.name)) {
        throw refusal(client.disabled ? 'client_disabled' : 'method_not_allowed');
      }
      (request as { [METHOD]?: string })[METHOD] = method.name;
    } catch (error) {
      if (isFailedAuthentication(error)) {
        if (clientId !== undefined) await this.throttle.failed(clientId, address);
        const padTo = started + (await this.verifier.derivationMs());
        await sleep(padTo - performance.now());
      }
      const reason = failureReason(error);
      // Reported after the count and the pad, and never in their way: a sink that throws (a full queue of
      // one's own) must not turn the 401 into a 500, nor switch throttling off.
      if (reason) {
        try {
          this.reportFailure(context, request, reason, method, clientId);
        } catch {
          // The sink's failure is the sink's; the refusal stands as decided.
        }
      }
      throw error;
    }
    if (clientId !== undefined && verdict) {
      await this.throttle.succeeded(clientId, address, verdict);
    }
    return true;
  }

  private reportFailure(
    context: ExecutionContext,
    request: OAuth2HttpRequest,
    reason: OAuth2AuthFailureReason,
    method: ClientAuthMethod | undefined,
    clientId: string | undefined,
  ): void {
    // A request refused before its method was settled (one turned off, several, none) still names what it
    // showed.
    const shown = method ?? this.shownMethod(request);
    const presented = shown
      ? (clientId ?? shown.clientIdOf(request))
      : this.methods.presentedClientId(request);
    this.events.emit({
      type: 'oauth2.client_auth.failed',
      clientId: presented === undefined ? null : reportedClientId(presented, reason),
      reason,
      authMethod: shown?.name ?? null,
      endpoint: clientAuthEndpointOf(context),
      remoteAddress: clientAddressOf(request),
    });
    this.metrics.authFailure(reason);
  }

  private shownMethod(request: OAuth2HttpRequest): ClientAuthMethod | undefined {
    try {
      return this.methods.presentIn(request);
    } catch {
      return undefined;
    }
  }

  private strategyGuard({ name, strategy }: ClientAuthMethod): IAuthGuard {
    let guard = this.guards.get(strategy);
    if (!guard) {
      const failed = name === 'client_secret_basic' ? 'malformed_credentials' : 'wrong_secret';
      guard = passportGuard(strategy, failed);
      this.guards.set(strategy, guard);
    }
    return guard;
  }
}

/**
 * Why a refusal was decided, when it is a failed client authentication: the reason it was marked with
 * (`refusal()`), else what its kind tells. A 5xx (storage, KDF queue) is no authentication failure.
 */
function failureReason(error: unknown): OAuth2AuthFailureReason | undefined {
  const marked = refusalReason(error);
  if (marked) return marked;
  // The credentials could not be read: a malformed Authorization header or form body.
  if (error instanceof MalformedRequestError) return 'malformed_credentials';
  if (error instanceof OAuth2Error && error.error === 'invalid_client') {
    return error.getStatus() === 429 ? 'throttled' : 'wrong_secret';
  }
  return undefined;
}

/** A presented client id as an event repeats it: at most 80 characters, control characters escaped. */
export function reportedClientId(presented: string, reason?: OAuth2AuthFailureReason): string {
  // An id no client has may be a secret pasted in its place (a generated one is 43 base64url characters), or a
  // stored hash: not repeated in the audit trail. The ids clients are given are short and readable.
  if (
    (reason === 'unknown_client' || reason === 'malformed_credentials') &&
    secretShaped(presented)
  ) {
    return `[withheld: ${presented.length} characters, shaped like a secret]`;
  }
  return [...presented.slice(0, 2 * MAX_REPORTED_CLIENT_ID)]
    .slice(0, MAX_REPORTED_CLIENT_ID)
    .map((char) => {
      const code = char.codePointAt(0)!;
      // C0, DEL, C1, the Unicode line and paragraph separators and format characters (bidi overrides, zero
      // widths), and the backslash itself, so that an escape in the line cannot be forged: nothing that breaks
      // or disguises a log line.
      if (char === '\\') return '\\\\';
      return code < 0x20 || (code >= 0x7f && code < 0xa0) || FORMAT_OR_SEPARATOR.test(char)
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : char;
    })
    .join('');
}

const FORMAT_OR_SEPARATOR = /^[\p{Cf}\p{Zl}\p{Zp}]$/u;

/** Long opaque base64url (a generated secret, a token) or a hash's `$scheme$` form. */
function secretShaped(presented: string): boolean {
  return /^[A-Za-z0-9_-]{32,}$/.test(presented) || /^\$[a-z0-9-]+\$/i.test(presented);
}

/** A 401 invalid_client: what throttling counts and timing pads. */
function isFailedAuthentication(error: unknown): boolean {
  return (
    error instanceof OAuth2Error && error.error === 'invalid_client' && error.getStatus() === 401
  );
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve();

/**
 * Whether a client that proved its identity by `method` may use it: not disabled, and the method its record
 * names (RFC 7591 §2 `token_endpoint_auth_method`). A record that names none takes either secret method, `none`
 * when it is public, and the host app's own methods, as before the column existed; never `private_key_jwt`,
 * which a client must be registered for (it needs keys).
 */
export function admits(client: OAuthClient, method: string): boolean {
  if (client.disabled) return false;
  const registered = client.tokenEndpointAuthMethod;
  return registered === null ? method !== 'private_key_jwt' : registered === method;
}

/** The client ClientAuthGuard authenticated: `@AuthenticatedClient() client: OAuthClient`. */
export const AuthenticatedClient = createParamDecorator(
  (_: unknown, context: ExecutionContext): OAuthClient => {
    const client = context.switchToHttp().getRequest()[CLIENT_PROPERTY] as OAuthClient | undefined;
    if (!client) throw new Error('@AuthenticatedClient() needs ClientAuthGuard on the route');
    return client;
  },
);

/** The method ClientAuthGuard authenticated the request's client by (`client_secret_basic`, …). */
export function authenticatedMethodOf(request: OAuth2HttpRequest): string {
  const method = (request as { [METHOD]?: string })[METHOD];
  if (method === undefined)
    throw new Error('authenticatedMethodOf() needs ClientAuthGuard on the route');
  return method;
}
