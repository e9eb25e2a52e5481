// Peer: oidc-provider 9 (panva) as a client credentials authorization server issuing JWT access tokens, the way
// its documentation configures that: features.clientCredentials, and features.resourceIndicators whose
// getResourceServerInfo names the API with accessTokenFormat 'jwt' and the same signing algorithm and key as
// ours. Default in-memory adapter, one confidential client (client_secret_basic), plain node:http.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { jwsFor, materialFor } from '../lib/keys.mjs';
import { benchConfig, dieOn, reportReady, serveIpc } from '../lib/server-ipc.mjs';

const config = benchConfig();
const { algorithm, audience, scope } = config;

async function main() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const hmac = algorithm.startsWith('HS');
  const jws = jwsFor(config.keys, algorithm);
  const jwt = hmac
    ? {
        sign: {
          alg: algorithm,
          key: Buffer.from(materialFor(config.keys, algorithm).secret, 'base64url'),
        },
      }
    : { sign: { alg: algorithm } };
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope,
      },
    ],
    // The provider needs an asymmetric key for its own use even when the API's tokens are HMAC-signed.
    jwks: {
      keys: [
        {
          ...(hmac ? jwsFor(config.keys, 'ES256').privateJwk : jws.privateJwk),
          kid: hmac ? 'provider' : jws.kid,
          alg: hmac ? 'ES256' : algorithm,
          use: 'sig',
        },
      ],
    },
    clientDefaults: { id_token_signed_response_alg: hmac ? 'ES256' : algorithm },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: scope.split(' '),
    ttl: { ClientCredentials: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== audience) throw new Provider.errors.InvalidTarget();
          return { scope, audience, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt };
        },
      },
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  server.keepAliveTimeout = 60_000;
  reportReady(port, {
    credentials: { clientId, clientSecret },
    tokenPath: '/token',
    tokenBody: `grant_type=client_credentials&scope=bench%3Aread&resource=${encodeURIComponent(audience)}`,
  });
  serveIpc(() => new Promise((resolve) => server.close(resolve)));
}

dieOn(main());
