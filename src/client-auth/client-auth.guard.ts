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
import { ClientAuthMethods } from './client-auth-methods.js';

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

  constructor(private readonly methods: ClientAuthMethods) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuth2HttpRequest>();
    const method = this.methods.methodFor(request);
    let guard = this.guards.get(method.strategy);
    if (!guard) {
      guard = passportGuard(method.strategy);
      this.guards.set(method.strategy, guard);
    }
    await guard.canActivate(context);
    const client = (request as unknown as Record<string, OAuthClient>)[CLIENT_PROPERTY];
    if (!admits(client, method.name)) throw OAuth2Error.invalidClient();
    return true;
  }
}

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
