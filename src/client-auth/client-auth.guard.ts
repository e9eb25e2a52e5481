import {
  createParamDecorator,
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { remoteAddressOf } from '../http/remote-address.js';
import { ClientAuthMethods } from './client-auth-methods.js';
import { ClientAuthThrottle, type ThrottleVerdict } from './client-auth-throttle.js';
import { SecretVerifier } from './secret-verifier.js';

/** Where Passport puts the authenticated client (its `property` option, `user` by default). */
const CLIENT_PROPERTY = 'oauth2Client';

/** Passport's AuthGuard for one strategy, answering a refusal with the RFC 6749 §5.2 invalid_client. */
function passportGuard(strategy: string): IAuthGuard {
  class ClientStrategyGuard extends (AuthGuard(strategy) as Type<IAuthGuard>) {
    override handleRequest<T>(error: unknown, client: T): T {
      if (error) throw error;
      if (!client) throw OAuth2Error.invalidClient();
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
  ) {}

  /**
   * Throttling wraps the strategy: an attempt is refused (429) or delayed by the failures counted for its
   * client id and address, a failure is counted, and a success clears its address's count. Every 401 takes at
   * least one KDF derivation's time (a timer, not work), so an unknown id, a disabled client or a wrong
   * generated secret cannot be told by timing from a wrong chosen secret.
   */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuth2HttpRequest>();
    const address = remoteAddressOf(request);
    let clientId: string | undefined;
    let verdict: ThrottleVerdict | undefined;
    let started = performance.now();
    try {
      const method = this.methods.methodFor(request);
      clientId = method.clientIdOf(request);
      if (clientId !== undefined) {
        verdict = await this.throttle.admit(clientId, address);
        if (verdict.delayMs > 0) await sleep(verdict.delayMs);
        started = performance.now();
      }
      await this.strategyGuard(method.strategy).canActivate(context);
      const client = (request as unknown as Record<string, OAuthClient>)[CLIENT_PROPERTY];
      if (!admits(client, method.name)) throw OAuth2Error.invalidClient();
    } catch (error) {
      if (isFailedAuthentication(error)) {
        if (clientId !== undefined) await this.throttle.failed(clientId, address);
        const padTo = started + (await this.verifier.derivationMs());
        await sleep(padTo - performance.now());
      }
      throw error;
    }
    if (clientId !== undefined && verdict) {
      await this.throttle.succeeded(clientId, address, verdict);
    }
    return true;
  }

  private strategyGuard(strategy: string): IAuthGuard {
    let guard = this.guards.get(strategy);
    if (!guard) {
      guard = passportGuard(strategy);
      this.guards.set(strategy, guard);
    }
    return guard;
  }
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
