import { Injectable, Logger } from '@nestjs/common';
import { clientView, type OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { lookUpClient } from '../clients/client-lookup.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAuth2EventSink } from '../observability/events.js';
import { TokenService } from './token.service.js';

/** An RFC 7662 §2.2 introspection response. */
export type OAuthIntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope?: string;
      client_id: string;
      token_type: 'Bearer';
      exp: number;
      iat: number;
      nbf?: number;
      sub: string;
      aud: string | string[];
      iss: string;
      jti: string;
    };

/** §2.2: every token not in force gets this, and nothing more (no reason is given). */
const INACTIVE = { active: false } as const;

/** Token introspection (RFC 7662) of the access tokens this server issues. */
@Injectable()
export class TokenIntrospection {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly tokens: TokenService,
    private readonly clients: OAuthClientRepository,
    private readonly config: OAuth2Config,
    private readonly events: OAuth2EventSink,
  ) {}

  /** §2.1: whether the authenticated `caller` may introspect (the module's `introspectionAccess`). */
  mayIntrospect(caller: OAuthClient): boolean {
    return this.config.introspectionAccess(clientView(caller)) === true;
  }

  /**
   * §2.2: active, with the token's claims, for an access token this server issued that verifies (any audience),
   * is not revoked, and whose client still exists and is not disabled; else exactly `{ active: false }`. A
   * client lookup that fails is a 503 (§2.3 allows errors): an outage must not read as a revocation to the
   * resource server, nor pass a disabled client's token as active. Each answer is an
   * `oauth2.token.introspected` event naming `caller`, the token's jti and client only when active.
   */
  async introspect(
    token: string,
    caller: { clientId: string; remoteAddress: string },
  ): Promise<OAuthIntrospectionResponse> {
    const answer = await this.answer(token);
    this.events.emit({
      type: 'oauth2.token.introspected',
      clientId: caller.clientId,
      active: answer.active,
      ...(answer.active ? { jti: answer.jti, tokenClientId: answer.client_id } : {}),
      remoteAddress: caller.remoteAddress,
    });
    return answer;
  }

  private async answer(token: string): Promise<OAuthIntrospectionResponse> {
    const principal = await this.tokens.verifyIssued(token);
    if (!principal || this.tokens.isRevoked(principal)) return INACTIVE;
    const client = await lookUpClient(
      this.clients.findById(principal.clientId),
      this.config.storageTimeoutMs,
      this.logger,
    );
    if (!client || client.disabled) return INACTIVE;
    const { scope, client_id, exp, iat, nbf, sub, aud, iss, jti } = principal.claims;
    return {
      active: true,
      ...(scope === undefined ? {} : { scope }),
      client_id,
      token_type: 'Bearer',
      exp,
      iat,
      ...(typeof nbf === 'number' ? { nbf } : {}),
      sub,
      aud,
      iss,
      jti,
    };
  }
}
