import { Controller, Req } from '@nestjs/common';
import { AuthenticatedClient, ClientAuthEndpoint } from '../client-auth/client-auth.guard.js';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { ClientAuthenticatedPost, PostEndpoint } from './post-endpoint.js';
import { OAuth2Revocations } from './revocations.service.js';
import { parseTokenReference } from './token-request.js';

/**
 * The revocation endpoint (RFC 7009 §2): the client authenticated as at the token endpoint (every enabled
 * method, the same throttling), the token revoked when it is the client's own. §2.2: 200 with an empty body,
 * whether or not there was anything to revoke. Served at the module's `revocationPath`.
 */
@Controller()
@ClientAuthEndpoint('revocation')
export class RevocationController extends PostEndpoint {
  protected readonly endpoint = 'revocation endpoint';

  constructor(private readonly revocations: OAuth2Revocations) {
    super();
  }

  @ClientAuthenticatedPost()
  async revoke(
    @AuthenticatedClient() client: OAuthClient,
    @Req() request: OAuth2HttpRequest,
  ): Promise<void> {
    // §2.1 token_type_hint only speeds up a lookup; this server issues access tokens alone.
    await this.revocations.revokeToken(client.clientId, parseTokenReference(request).token);
  }
}
