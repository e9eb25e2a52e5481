import type { JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import type { FetchFunction } from '../keys/bounded-fetch.js';
import { JwksCache } from '../keys/jwks-cache.js';
import type { JsonWebKeySet } from '../keys/signing-key-set.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { OAuth2ResourceServerConfig } from '../resource-server/oauth2-resource-server-config.js';
import type { OAuth2ResourceServerAlgorithm } from '../resource-server/oauth2-resource-server-options.interface.js';
import { AUTHORIZATION_SERVER_METADATA, wellKnownUrl } from '../resource-server/well-known.js';
import {
  audienceList,
  generateTestKey,
  OAuth2TestTokenMinter,
  signJwt,
  type OAuth2TestSigningKey,
  type OAuth2TestTokenOptions,
} from './test-token-minter.js';

export interface OAuth2TestIssuerOptions {
  /** The issuer the resource server is configured with (its `issuer` option): the tokens' `iss`. */
  issuer: string;
  /** The resource server's `audience`, or one of them: the tokens' `aud` unless a token asks otherwise. */
  audience: string | readonly string[];
  /** The signature algorithm; the resource server's `algorithms` must allow it. @default 'ES256' */
  algorithm?: OAuth2ResourceServerAlgorithm;
  /** The `kid` of its key in tokens and in its JWK Set. @default 'oauth2-test-key' */
  keyId?: string;
  /** Seconds from `iat` to `exp` unless a token asks otherwise. @default 300 */
  lifetime?: number;
}

/**
 * What `overrideJwks()` needs of a `TestingModuleBuilder` (from `@nestjs/testing`), named by shape so this
 * package does not depend on it.
 */
export interface OAuth2OverridableModule<Builder> {
  overrideProvider(token: unknown): {
    useFactory(options: { factory: (...args: never[]) => unknown; inject?: unknown[] }): Builder;
  };
}

/**
 * An authorization server that lives in the test process, for the tests of an app on
 * `OAuth2ResourceServerModule`: its own key pair, the resource server's issuer identifier, RFC 9068 access
 * tokens signed with its key, and its JWK Set (RFC 7517 §5), which `overrideJwks()` makes the test module read
 * instead of fetching the real issuer's. Everything else of the resource server stays real (the JWKS cache, the
 * verifier, `OAuth2Guard`), and no request leaves the process.
 *
 * ```ts
 * const issuer = new OAuth2TestIssuer({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });
 * const moduleRef = await issuer.overrideJwks(Test.createTestingModule({ imports: [AppModule] })).compile();
 * const token = await issuer.accessToken({ scopes: ['reports:read'] });
 * ```
 */
export class OAuth2TestIssuer extends OAuth2TestTokenMinter {
  /** The issuer identifier: the `iss` of its tokens. */
  readonly issuer: string;
  /** Where its RFC 8414 metadata is (RFC 8414 §3.1), answered by `fetch` only. */
  readonly metadataUrl: string;
  /** Where its JWK Set is, answered by `fetch` only. */
  readonly jwksUri: string;
  /** Its public keys, as its JWKS URL serves them. */
  readonly jwks: JsonWebKeySet;
  private readonly key: OAuth2TestSigningKey;
  private readonly audience: string[];
  private readonly lifetime: number;
  /** The clock tolerance of the resource server it serves, learned by `overrideJwks()`. */
  private serverClockTolerance = 0;

  constructor({
    issuer,
    audience,
    algorithm = 'ES256',
    keyId = 'oauth2-test-key',
    lifetime = 300,
  }: OAuth2TestIssuerOptions) {
    super();
    if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) {
      throw new Error(
        "OAuth2TestIssuer: issuer must be an absolute http(s) URL, as the resource server's is",
      );
    }
    this.issuer = issuer;
    this.metadataUrl = wellKnownUrl(issuer, AUTHORIZATION_SERVER_METADATA);
    this.jwksUri = `${new URL(issuer).origin}/.oauth2-test-issuer/jwks.json`;
    this.audience = audienceList(audience);
    this.lifetime = lifetime;
    const { privateKey, publicKey } = generateTestKey(algorithm);
    this.key = { algorithm, key: privateKey, kid: keyId };
    this.jwks = {
      keys: [
        { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: keyId, alg: algorithm, use: 'sig' },
      ],
    };
  }

  /**
   * A `fetch` that answers this issuer's metadata and JWK Set from memory, and throws for any other URL: the
   * network is never used.
   */
  readonly fetch: FetchFunction = async (url) => {
    if (url === this.metadataUrl)
      return Response.json({ issuer: this.issuer, jwks_uri: this.jwksUri });
    if (url === this.jwksUri) return Response.json(this.jwks);
    throw new Error(
      `OAuth2TestIssuer answers only ${this.metadataUrl} and ${this.jwksUri}, not ${url}`,
    );
  };

  /**
   * Makes the `OAuth2ResourceServerModule` of a test module read this issuer's JWK Set from memory instead of
   * fetching the issuer's: its key cache is replaced by one that fetches through `fetch` (a configured
   * `jwksUri` included). Returns the builder, to `compile()`.
   *
   * Compiling fails with a clear message when the resource server expects another issuer, does not allow this
   * issuer's algorithm, or has `introspection` on (which would call the issuer over the network).
   */
  overrideJwks<Builder>(builder: OAuth2OverridableModule<Builder>): Builder {
    return builder.overrideProvider(JwksCache).useFactory({
      factory: (config: OAuth2ResourceServerConfig, metrics: OAuth2Metrics) =>
        new JwksCache(config, this.fetchFor(config), undefined, metrics),
      inject: [OAuth2ResourceServerConfig, OAuth2Metrics],
    });
  }

  protected clockTolerance(): number {
    return this.serverClockTolerance;
  }

  protected async mint({
    clientId = 'test-client',
    scopes = [],
    subject,
    audience,
    lifetime = this.lifetime,
  }: OAuth2TestTokenOptions): Promise<string> {
    const aud = audience === undefined ? this.audience : audienceList(audience);
    const iat = Math.floor(Date.now() / 1000);
    // RFC 9068 §2.1 typ, §2.2 claims: what an OAuth2Module issuer puts in its tokens.
    return signJwt(
      { typ: 'at+jwt' },
      {
        iss: this.issuer,
        sub: subject ?? clientId,
        aud: aud.length === 1 ? aud[0] : aud,
        exp: iat + lifetime,
        iat,
        jti: randomUUID(),
        client_id: clientId,
        ...(scopes.length === 0 ? {} : { scope: scopes.join(' ') }),
      },
      this.key,
    );
  }

  protected signingKey(): OAuth2TestSigningKey {
    return this.key;
  }

  /** This issuer's `fetch`, which also answers the resource server's own `jwksUri`, once its settings fit. */
  private fetchFor(config: OAuth2ResourceServerConfig): FetchFunction {
    const problem =
      config.issuer !== this.issuer
        ? `the resource server accepts tokens of ${config.issuer}, this test issuer is ${this.issuer}: ` +
          `create it with { issuer: '${config.issuer}' }`
        : !config.algorithms.includes(this.key.algorithm as OAuth2ResourceServerAlgorithm)
          ? `the resource server's algorithms (${config.algorithms.join(', ')}) do not allow ${this.key.algorithm}`
          : config.introspection !== undefined
            ? 'the resource server has introspection on, which asks the issuer over the network: ' +
              'leave `introspection` out of the test module'
            : undefined;
    if (problem !== undefined) throw new Error(`OAuth2TestIssuer.overrideJwks(): ${problem}`);
    this.serverClockTolerance = config.clockTolerance;
    return (url, init) =>
      url === config.jwksUri ? Promise.resolve(Response.json(this.jwks)) : this.fetch(url, init);
  }
}
