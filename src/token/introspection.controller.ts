import { Controller, Req } from '@nestjs/common';
import { ClientAuthMethods } from '../client-auth/client-auth-methods.js';
import { AuthenticatedClient, ClientAuthEndpoint } from '../client-auth/client-auth.guard.js';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { clientAddressOf } from '../http/remote-address.js';
import { ClientAuthenticatedPost, PostEndpoint } from './post-endpoint.js';
import { TokenIntrospection, type OAuthIntrospectionResponse } from './introspection.service.js';
import { parseTokenReference } from './token-request.js';

/**
 * The introspection endpoint (RFC 7662 §2): the caller authenticated as at the token endpoint (the same
 * throttling) by any method but `none`, and allowed to introspect by `introspectionAccess`, else 401
 * invalid_client like a failed authentication (§2.3). Served at the module's `introspectionPath`.
 */
@Controller()
@ClientAuthEndpoint('introspection')
export class IntrospectionController extends PostEndpoint {
  protected readonly endpoint = 'introspection endpoint';

  constructor(
    private readonly introspection: TokenIntrospection,
    private readonly methods: ClientAuthMethods,
  ) {
    super();
  }

  // §2.2 / RFC 6749 §5.1: the answer says whether a token is in force; no cache may keep it.
  @ClientAuthenticatedPost()
  introspect(
    @AuthenticatedClient() client: OAuthClient,
    @Req() request: OAuth2HttpRequest,
  ): Promise<OAuthIntrospectionResponse> {
    // §4: a public client (the `none` method) proves no identity, so it may not scan tokens.
    const method = this.methods.methodFor(request).name;
    if (method === 'none' || !this.introspection.mayIntrospect(client)) {
      throw OAuth2Error.invalidClient();
    }
    return this.introspection.introspect(parseTokenReference(request).token, {
      clientId: client.clientId,
      remoteAddress: clientAddressOf(request),
    });
  }
}
