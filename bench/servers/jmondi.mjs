// Peer: @jmondi/oauth2-server 4 as its README and example show it: an AuthorizationServer with the
// client_credentials grant, in-memory client/token/scope repositories shaped like the example's Prisma ones
// (plain secret comparison in isClientValid, a random opaque jti from generateRandomToken), its JwtService with
// a string secret (jsonwebtoken's HS256), on Express with urlencoded parsing and its Express adapter. It signs
// HS256 only: compare it with our HS256 rows. Express comes with @nestjs/platform-express.
import { randomBytes } from 'node:crypto';
import express from 'express';
import {
  AuthorizationServer,
  DateInterval,
  generateRandomToken,
  JwtService,
} from '@jmondi/oauth2-server';
import { handleExpressError, handleExpressResponse } from '@jmondi/oauth2-server/express';
import { materialFor } from '../lib/keys.mjs';
import { benchConfig, reportReady, serveIpc } from '../lib/server-ipc.mjs';

const config = benchConfig();
const clientId = 'bench-client';
const clientSecret = randomBytes(32).toString('base64url');
const scopes = new Map(config.scope.split(' ').map((name) => [name, { name }]));
const clients = new Map([
  [
    clientId,
    {
      id: clientId,
      name: clientId,
      secret: clientSecret,
      redirectUris: [],
      allowedGrants: ['client_credentials'],
      scopes: [...scopes.values()],
    },
  ],
]);
const tokens = new Map();

const clientRepository = {
  async getByIdentifier(id) {
    const client = clients.get(id);
    if (!client) throw new Error('client not found');
    return client;
  },
  async isClientValid(grantType, client, secret) {
    if (client.secret && client.secret !== secret) return false;
    return client.allowedGrants.includes(grantType);
  },
};
const tokenRepository = {
  async issueToken(client, tokenScopes, user) {
    return {
      accessToken: generateRandomToken(),
      accessTokenExpiresAt: new DateInterval('1h').getEndDate(),
      refreshToken: null,
      refreshTokenExpiresAt: null,
      client,
      user,
      scopes: tokenScopes,
    };
  },
  async persist(token) {
    tokens.set(token.accessToken, token);
    // In memory for a bounded run: keep the map from becoming the thing measured.
    if (tokens.size > 100_000) tokens.clear();
  },
  async issueRefreshToken(token) {
    return token;
  },
  async revoke() {},
  async isRefreshTokenRevoked() {
    return true;
  },
  async getByRefreshToken() {
    throw new Error('no refresh tokens');
  },
};
const scopeRepository = {
  async getAllByIdentifiers(names) {
    return names.map((name) => scopes.get(name)).filter(Boolean);
  },
  async finalize(requested) {
    return requested;
  },
};

const authorizationServer = new AuthorizationServer(
  clientRepository,
  tokenRepository,
  scopeRepository,
  new JwtService(materialFor(config.keys, 'HS256').secret),
  { issuer: config.issuer },
);
authorizationServer.enableGrantType('client_credentials', new DateInterval('1h'));

const app = express();
app.use(express.urlencoded({ extended: false }));
app.post('/token', async (req, res) => {
  try {
    const oauthResponse = await authorizationServer.respondToAccessTokenRequest(req);
    return handleExpressResponse(res, oauthResponse);
  } catch (e) {
    handleExpressError(e, res);
  }
});

const server = app.listen(0, '127.0.0.1', () => {
  reportReady(server.address().port, {
    credentials: { clientId, clientSecret },
    tokenPath: '/token',
  });
});
server.keepAliveTimeout = 60_000;
serveIpc(() => new Promise((resolve) => server.close(resolve)));
