// The physical-limit references: a token issuer and a bearer verifier on bare node:http + node:crypto, doing the
// same work as the library with nothing else. The issuer checks HTTP Basic credentials against the same keyed
// digest (`$hmac-sha256$k=<id>$<mac>`, HMAC-SHA256 with the pepper), reads the form body, checks grant type and
// scope, and signs the same RFC 9068 claims with the same header and key; the verifier checks the signature,
// `typ`, `iss`, `aud`, `exp` and the scope, and answers with the principal. Clients live in a Map: this is the
// ceiling, not a fair competitor. Mode `hello` answers a constant JSON body (the load generator's ceiling).
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { jwsFor } from '../lib/keys.mjs';
import { benchConfig, reportReady, serveIpc } from '../lib/server-ipc.mjs';

const config = benchConfig();
const mode = process.argv[2] ?? 'oauth';

const json = (res, status, body, headers = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

function helloServer() {
  return createServer((req, res) => json(res, 200, { ok: true }));
}

function oauthServer() {
  const { algorithm, issuer, audience, scope: clientScope } = config;
  const jws = jwsFor(config.keys, algorithm);
  const pepper = Buffer.from(config.pepper, 'base64url');
  const pepperId = createHash('sha256').update(pepper).digest('base64url').slice(0, 8);
  const digest = (secret) => createHmac('sha256', pepper).update(secret, 'utf8').digest();
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const stored = `$hmac-sha256$k=${pepperId}$${digest(clientSecret).toString('base64').replace(/=+$/, '')}`;
  const clients = new Map([[clientId, { stored, scopes: new Set(clientScope.split(' ')) }]]);
  const header = Buffer.from(
    JSON.stringify({ alg: algorithm, typ: 'at+jwt', ...(jws.kid ? { kid: jws.kid } : {}) }),
  ).toString('base64url');
  const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
  const invalidClient = (res) =>
    json(
      res,
      401,
      { error: 'invalid_client' },
      { 'www-authenticate': 'Basic realm="Service"', ...noStore },
    );

  function authenticate(authorization) {
    if (!authorization?.startsWith('Basic ')) return undefined;
    const userPass = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = userPass.indexOf(':');
    if (colon <= 0) return undefined;
    const id = decodeURIComponent(userPass.slice(0, colon));
    const client = clients.get(id);
    if (!client) return undefined;
    const match = /^\$hmac-sha256\$k=([A-Za-z0-9_-]+)\$([A-Za-z0-9+/]{43})$/.exec(client.stored);
    if (!match || match[1] !== pepperId) return undefined;
    const ok = timingSafeEqual(
      digest(decodeURIComponent(userPass.slice(colon + 1))),
      Buffer.from(match[2], 'base64'),
    );
    return ok ? { id, ...client } : undefined;
  }

  function issue(req, res, body) {
    const client = authenticate(req.headers.authorization);
    if (!client) return invalidClient(res);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') {
      return json(res, 400, { error: 'unsupported_grant_type' }, noStore);
    }
    const requested = form.get('scope');
    const scopes = requested ? requested.split(' ') : [...client.scopes];
    if (!scopes.every((s) => client.scopes.has(s)))
      return json(res, 400, { error: 'invalid_scope' }, noStore);
    const iat = Math.floor(Date.now() / 1000);
    const payload = {
      client_id: client.id,
      scope: scopes.join(' '),
      iat,
      exp: iat + 3600,
      aud: audience,
      iss: issuer,
      sub: client.id,
      jti: randomUUID(),
    };
    const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    json(
      res,
      200,
      {
        access_token: `${input}.${jws.sign(input)}`,
        token_type: 'Bearer',
        expires_in: 3600,
        scope: payload.scope,
      },
      noStore,
    );
  }

  function guarded(req, res) {
    const challenge = { 'www-authenticate': 'Bearer realm="Service", error="invalid_token"' };
    const authorization = req.headers.authorization;
    if (!authorization?.startsWith('Bearer ')) return json(res, 401, {}, challenge);
    const token = authorization.slice(7);
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || !jws.verify(token.slice(0, dot2), token.slice(dot2 + 1))) {
      return json(res, 401, {}, challenge);
    }
    let head, claims;
    try {
      head = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString());
      claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString());
    } catch {
      return json(res, 401, {}, challenge);
    }
    if (
      head.alg !== algorithm ||
      head.typ?.toLowerCase() !== 'at+jwt' ||
      claims.iss !== issuer ||
      claims.aud !== audience ||
      !(claims.exp > Date.now() / 1000) ||
      typeof claims.sub !== 'string'
    ) {
      return json(res, 401, {}, challenge);
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes('bench:read')) return json(res, 403, {}, challenge);
    json(res, 200, { client_id: claims.client_id, sub: claims.sub, scope: scopes.join(' ') });
  }

  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/oauth2/token') {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => issue(req, res, Buffer.concat(chunks).toString('latin1')));
    } else if (req.method === 'GET' && req.url === '/api/whoami') {
      guarded(req, res);
    } else {
      json(res, 404, {});
    }
  });
  return { server, credentials: { clientId, clientSecret } };
}

const { server, credentials } = mode === 'hello' ? { server: helloServer() } : oauthServer();
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  reportReady(server.address().port, { credentials });
});
serveIpc(() => new Promise((resolve) => server.close(resolve)));
