import { Controller, Req, type Type } from '@nestjs/common';
import {
  AuthenticatedClient,
  authenticatedMethodOf,
  ClientAuthEndpoint,
} from '../client-auth/client-auth.guard.js';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { clientAddressOf } from '../http/remote-address.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { ClientCredentialsGrant } from './client-credentials.grant.js';
import { ClientAuthenticatedPost, PostEndpoint, servedAt } from './post-endpoint.js';
import { parseTokenRequest } from './token-request.js';
import type { OAuthTokenResponse } from './token-response.interface.js';

/**
 * The token endpoint (RFC 6749 §3.2) for the client credentials grant (§4.4): the client authenticated by
 * ClientAuthGuard's Passport strategy, the form read once into a TokenRequest, the grant decides. Its path is
 * set by `createTokenController()`, so it can follow the module's `tokenPath`.
 */
@Controller()
@ClientAuthEndpoint('token')
export class TokenController extends PostEndpoint {
  protected readonly endpoint = 'token endpoint';

  constructor(
    private readonly grant: ClientCredentialsGrant,
    private readonly metrics: OAuth2Metrics,
  ) {
    super();
  }

  /** A refusal is counted by TokenExceptionFilter, which every error of this endpoint passes. */
  @ClientAuthenticatedPost()
  async token(
    @AuthenticatedClient() client: OAuthClient,
    @Req() request: OAuth2HttpRequest,
  ): Promise<OAuthTokenResponse> {
    const response = await this.grant.respond(client, parseTokenRequest(request), {
      authMethod: authenticatedMethodOf(request),
      remoteAddress: clientAddressOf(request),
    });
    this.metrics.tokenRequest('issued');
    return response;
  }
}

/** A TokenController subclass served at `path`. */
export function createTokenController(path: string): Type<TokenController> {
  return servedAt(TokenController, path);
}
