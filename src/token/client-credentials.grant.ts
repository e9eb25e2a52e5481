import { Injectable } from '@nestjs/common';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { grantScopes, parseStoredList, SCOPE_PATTERN } from '../http/scope.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAuth2EventSink } from '../observability/events.js';
import { CLIENT_CREDENTIALS_GRANT, type TokenRequest } from './token-request.js';
import type { OAuthTokenResponse } from './token-response.interface.js';
import { TokenService } from './token.service.js';

/** Who asked for a token, as its audit event names them. */
export interface TokenRequester {
  /** How the client authenticated (`client_secret_basic`, `private_key_jwt`, …). */
  authMethod: string;
  remoteAddress: string;
}

/**
 * The client credentials grant (RFC 6749 §4.4), for a client the ClientAuthGuard has authenticated. Each
 * token issued is an `oauth2.token.issued` event.
 */
@Injectable()
export class ClientCredentialsGrant {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: OAuth2Config,
    private readonly events: OAuth2EventSink,
  ) {}

  async respond(
    client: OAuthClient,
    request: TokenRequest,
    { authMethod, remoteAddress }: TokenRequester,
  ): Promise<OAuthTokenResponse> {
    // grant_types null allows every grant, as in the seed's schema. (A public client reaches this point only
    // through the `none` method, which is on only while allowPublicClients is.)
    const allowedGrants = client.grantTypes === null ? null : parseStoredList(client.grantTypes);
    if (allowedGrants !== null && !allowedGrants.includes(CLIENT_CREDENTIALS_GRANT)) {
      throw OAuth2Error.unauthorizedClient('The client is not allowed to use this grant type');
    }
    // §3.3: a well-formed scope, all of it within what the client may have; none asked, all it may have.
    if (request.scope !== undefined && !SCOPE_PATTERN.test(request.scope)) {
      throw OAuth2Error.invalidScope('The scope parameter is malformed');
    }
    const scopes = grantScopes(request.scope, client.scope);
    if (!scopes) {
      throw OAuth2Error.invalidScope('The requested scope exceeds what the client may be granted');
    }
    const issued = await this.tokens.issueAccessToken(client, scopes, {
      audience: this.audienceFor(client, request.resources),
      lifetime: Math.min(
        // A stored lifetime below a second (written around the CLI) means none of its own.
        client.accessTokenLifetime !== null && client.accessTokenLifetime >= 1
          ? Math.floor(client.accessTokenLifetime)
          : this.config.accessTokenLifetime,
        this.config.maxAccessTokenLifetime,
      ),
    });
    this.events.emit({
      type: 'oauth2.token.issued',
      clientId: client.clientId,
      scopes: [...scopes],
      audience: issued.audience,
      jti: issued.jti,
      lifetime: issued.lifetime,
      authMethod,
      remoteAddress,
    });
    return issued.response;
  }

  /**
   * RFC 8707 §2: the token's `aud` is the resources asked for, each one the client may have (its own audiences,
   * else the module's); none asked, the client's default audience (the first of its own), else the module's.
   */
  private audienceFor(client: OAuthClient, resources: readonly string[]): readonly string[] {
    // A blank stored list means none of its own: a token never goes out with an empty `aud` (RFC 9068 §2.2).
    const listed = client.audience === null ? [] : parseStoredList(client.audience);
    const own = listed.length > 0 ? listed : null;
    if (resources.length === 0) return own ? own.slice(0, 1) : this.config.audience;
    const allowed = own ?? this.config.audience;
    if (resources.some((resource) => !allowed.includes(resource))) {
      throw OAuth2Error.invalidTarget('The client may not get a token for the requested resource');
    }
    return resources;
  }
}
