import type { INestApplicationContext } from '@nestjs/common';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2KeyRing } from '../keys/key-ring.js';
import { OAuth2Config } from '../oauth2-config.js';
import { TokenService } from '../token/token.service.js';
import {
  audienceList,
  OAuth2TestTokenMinter,
  type OAuth2TestSigningKey,
  type OAuth2TestTokenOptions,
} from './test-token-minter.js';

/** An app, a TestingModule, or any Nest application context that holds `OAuth2Module`. */
export type OAuth2TestApp = Pick<INestApplicationContext, 'get'>;

/**
 * Access tokens for the tests of an app on `OAuth2Module`, made by the app's own `TokenService` with its own
 * keys: the app's `OAuth2Guard` accepts them as it accepts the token endpoint's (same issuer, audience, key,
 * `kid`, RFC 9068 profile, `customClaims` hook). No client record is read or written, and no database or
 * network is involved.
 *
 * ```ts
 * const tokens = OAuth2TestTokens.from(app);
 * const token = await tokens.accessToken({ clientId: 'billing', scopes: ['reports:read'] });
 * ```
 */
export class OAuth2TestTokens extends OAuth2TestTokenMinter {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: OAuth2Config,
    private readonly keyRing: OAuth2KeyRing,
  ) {
    super();
  }

  /**
   * The token minter of the `OAuth2Module` in this app or TestingModule: compiled is enough with `signing` keys;
   * with a `keyStore`, mint after `app.init()`, which loads the keys.
   */
  static from(app: OAuth2TestApp): OAuth2TestTokens {
    const get = <T>(token: abstract new (...args: never[]) => T): T => {
      try {
        return app.get<T>(token, { strict: false });
      } catch {
        throw new Error(
          `OAuth2TestTokens.from(): this app has no ${token.name}: import OAuth2Module in its test module, ` +
            'or use OAuth2TestIssuer for an app on OAuth2ResourceServerModule',
        );
      }
    };
    return new OAuth2TestTokens(get(TokenService), get(OAuth2Config), get(OAuth2KeyRing));
  }

  protected clockTolerance(): number {
    return this.config.clockTolerance;
  }

  /**
   * `TokenService.issue()` for a client made up on the spot (RFC 9068 §2.2: `sub` is its user id when
   * `subject` is given, else its client id). The lifetime is clamped to `maxAccessTokenLifetime`, as the
   * token endpoint clamps it.
   */
  protected async mint({
    clientId = 'test-client',
    scopes = [],
    subject,
    audience,
    lifetime,
  }: OAuth2TestTokenOptions): Promise<string> {
    const client = OAuthClient.create({ clientId, userId: subject ?? null });
    const { access_token } = await this.tokens.issue(client, scopes, {
      ...(audience === undefined ? {} : { audience: audienceList(audience) }),
      ...(lifetime === undefined ? {} : { lifetime }),
    });
    return access_token;
  }

  protected signingKey(): OAuth2TestSigningKey {
    const { algorithm, signingKey, kid } = this.keyRing.current.active;
    return { algorithm, key: signingKey, kid };
  }
}
