import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnauthorizedException,
  type Type,
} from '@nestjs/common';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAUTH2_CLIENT_BASIC_STRATEGY, OAUTH2_CLIENT_BODY_STRATEGY } from '../oauth2.constants.js';
import type { OAuth2HttpRequest } from '../token/form-request.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { readClientCredentials } from './client-credentials.js';
import { OAUTH2_CLIENT_PROPERTY, setPresentedCredentials } from './presented-credentials.js';

const passportGuard = (strategy: string): IAuthGuard =>
  new (AuthGuard(strategy) as Type<IAuthGuard>)({
    session: false,
    property: OAUTH2_CLIENT_PROPERTY,
  });

/**
 * Authenticates the client of a token request with exactly one method. It picks the Passport strategy from
 * what the request carries, instead of trying strategies in turn, so a request mixing methods is refused
 * rather than accepted by whichever succeeds first.
 */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  private readonly strategies = {
    basic: passportGuard(OAUTH2_CLIENT_BASIC_STRATEGY),
    body: passportGuard(OAUTH2_CLIENT_BODY_STRATEGY),
  };

  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly config: OAuth2Config,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OAuth2HttpRequest>();
    const credentials = readClientCredentials(request, this.config.allowCredentialsInRequestBody);
    if (typeof credentials === 'string') throw OAuth2Error.invalidClient(this.config.realm);
    setPresentedCredentials(request, credentials, this.authenticator);
    try {
      await this.strategies[credentials.method].canActivate(context);
    } catch (error) {
      // A strategy's plain refusal (passport-http's, for an empty secret) arrives as Nest's default 401.
      if (error instanceof UnauthorizedException)
        throw OAuth2Error.invalidClient(this.config.realm);
      throw error;
    }
    return true;
  }
}
