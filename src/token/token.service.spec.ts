import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JwtService } from '@nestjs/jwt';
import { clientView, OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2KeyRing, StaticKeyRing } from '../keys/key-ring.js';
import { SigningKeySet } from '../keys/signing-key-set.js';
import { OAuth2Config } from '../oauth2-config.js';
import { jwkThumbprint } from '../keys/signing-keys.js';
import type { OAuth2SigningOptions } from '../keys/signing-options.interface.js';
import { AccessTokenVerifier } from '../resource/access-token.verifier.js';
import { clientRevocation, InMemoryOAuth2RevocationStore } from '../state/revocation-store.js';
import type { OAuth2ClaimsContext, OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import { createJwtService, TokenService } from './token.service.js';

const ISSUER = 'https://auth.example.com';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HS_SECRET = 'an HS256 secret of at least 32 bytes!';
const OTHER_HS_SECRET = 'another HS256 secret, 32 bytes or more';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const pem = (key: KeyObject): string =>
  key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }).toString();

type Signer = (signingInput: string) => Buffer;

const hmac =
  (secret: string): Signer =>
  (input) =>
    createHmac('sha256', secret).update(input).digest();
const rs256 =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', Buffer.from(input), key);
const es256 =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });

interface Variant {
  name: string;
  signing: OAuth2SigningOptions;
  alg: string;
  kid: string | undefined;
  signer: Signer;
  otherKeySigner: Signer;
  /** A key an attacker knows: the public key PEM, or for HMAC nothing of ours. */
  publicPem: string;
}

const variants: Variant[] = [
  {
    name: 'HS256',
    signing: { algorithm: 'HS256', secret: HS_SECRET },
    alg: 'HS256',
    kid: undefined,
    signer: hmac(HS_SECRET),
    otherKeySigner: hmac(OTHER_HS_SECRET),
    publicPem: pem(rsa.publicKey),
  },
  {
    name: 'RS256',
    signing: { algorithm: 'RS256', privateKey: pem(rsa.privateKey) },
    alg: 'RS256',
    kid: jwkThumbprint(rsa.publicKey),
    signer: rs256(rsa.privateKey),
    otherKeySigner: rs256(otherRsa.privateKey),
    publicPem: pem(rsa.publicKey),
  },
  {
    name: 'ES256',
    signing: { algorithm: 'ES256', privateKey: ec.privateKey, keyId: 'ec-2024' },
    alg: 'ES256',
    kid: 'ec-2024',
    signer: es256(ec.privateKey),
    otherKeySigner: es256(otherEc.privateKey),
    publicPem: pem(ec.publicKey),
  },
];

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS built by hand (RFC 7515 §7.1), so nothing in the library shapes the bad tokens. */
function craft(header: object, payload: object, signer: Signer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer(input).toString('base64url')}`;
}

function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
}

const now = (): number => Math.floor(Date.now() / 1000);

function service(
  signing: OAuth2SigningOptions,
  overrides: Partial<OAuth2ModuleOptions> = {},
  revocations = new InMemoryOAuth2RevocationStore(),
) {
  const config = new OAuth2Config({ issuer: ISSUER, signing, ...overrides });
  return new TokenService(
    createJwtService(config),
    config,
    new StaticKeyRing(config.keys!),
    revocations,
  );
}

const client = (fields: Partial<OAuthClient> = {}): OAuthClient =>
  OAuthClient.create({ clientId: 'testclient', scope: 'reports:read reports:write', ...fields });

async function rejection(promise: Promise<unknown>): Promise<OAuth2Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuth2Error);
    return error as OAuth2Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

async function expectInvalidToken(
  promise: Promise<unknown>,
  description = 'The access token is invalid',
): Promise<void> {
  const error = await rejection(promise);
  expect(error.error).toBe('invalid_token');
  expect(error.getStatus()).toBe(401);
  expect(error.description).toBe(description);
  expect(error.extras).toEqual({});
  expect(error.body).toEqual({ error: 'invalid_token', error_description: description });
}

describe.each(variants)('TokenService ($name)', (variant) => {
  const tokens = service(variant.signing);
  const goodHeader = (): Record<string, unknown> =>
    variant.kid === undefined
      ? { alg: variant.alg, typ: 'at+jwt' }
      : { alg: variant.alg, typ: 'at+jwt', kid: variant.kid };
  const goodClaims = (): Record<string, unknown> => ({
    iss: ISSUER,
    sub: 'testclient',
    aud: ISSUER,
    client_id: 'testclient',
    scope: 'reports:read',
    jti: 'b0a5b7f4-6c1e-4f4e-9d9e-0e2b7f3c1a11',
    iat: now(),
    exp: now() + 600,
  });

  describe('issue', () => {
    test('RFC 6749 §5.1: the token response', async () => {
      const response = await tokens.issue(client(), ['reports:read', 'reports:write']);
      expect(Object.keys(response).sort()).toEqual([
        'access_token',
        'expires_in',
        'scope',
        'token_type',
      ]);
      expect(response.token_type).toBe('Bearer');
      expect(response.expires_in).toBe(3600);
      expect(response.scope).toBe('reports:read reports:write');
      expect(response.access_token.split('.')).toHaveLength(3);
    });

    test('RFC 9068 §2.1: header typ at+jwt, the configured alg and kid', async () => {
      const { access_token } = await tokens.issue(client(), ['reports:read']);
      expect(decodePart(access_token, 0)).toEqual(goodHeader());
    });

    test('RFC 9068 §2.2: iss, sub, aud, client_id, scope, jti, iat, exp = iat + lifetime', async () => {
      const before = now();
      const { access_token } = await tokens.issue(client(), ['reports:read', 'reports:write']);
      const after = now();
      const claims = decodePart(access_token, 1);
      expect(claims).toEqual({
        iss: ISSUER,
        sub: 'testclient',
        aud: ISSUER,
        client_id: 'testclient',
        scope: 'reports:read reports:write',
        jti: expect.stringMatching(UUID),
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(claims.iat).toBeGreaterThanOrEqual(before);
      expect(claims.iat).toBeLessThanOrEqual(after);
      expect(claims.exp).toBe((claims.iat as number) + 3600);
    });

    test('a lifetime above maxAccessTokenLifetime is clamped to it (a client revocation covers no longer)', async () => {
      const own = service(variant.signing, { maxAccessTokenLifetime: 7200 });
      const long = await own.issue(client(), [], { lifetime: 100_000 });
      expect(long.expires_in).toBe(7200);
      const claims = decodePart(long.access_token, 1);
      expect(claims.exp).toBe((claims.iat as number) + 7200);
      const short = await own.issue(client(), [], { lifetime: 60 });
      expect(short.expires_in).toBe(60);
    });

    test('RFC 9068 §2.2 sub: the client’s user_id when set', async () => {
      const { access_token } = await tokens.issue(client({ userId: 'user-42' }), []);
      const claims = decodePart(access_token, 1);
      expect(claims.sub).toBe('user-42');
      expect(claims.client_id).toBe('testclient');
    });

    test.each([[''], ['  ']])(
      'RFC 9068 §2.2 sub: a legacy row’s empty user_id (%j) means none: the client id, never an empty sub',
      async (userId) => {
        const { access_token } = await tokens.issue(client({ userId }), []);
        expect(decodePart(access_token, 1).sub).toBe('testclient');
      },
    );

    test('RFC 9068 §2.2 sub: a legacy INTEGER user_id is its decimal string', async () => {
      const { access_token } = await tokens.issue(client({ userId: 42 as unknown as string }), []);
      expect(decodePart(access_token, 1).sub).toBe('42');
    });

    test('RFC 7519 §4.1.7 jti: unique per token', async () => {
      const ids = new Set<unknown>();
      for (let i = 0; i < 20; i++) {
        ids.add(decodePart((await tokens.issue(client(), [])).access_token, 1).jti);
      }
      expect(ids.size).toBe(20);
    });

    test('RFC 6749 §5.1 / RFC 9068 §2.2.3: no scope granted → no scope claim, no scope field', async () => {
      const response = await tokens.issue(client(), []);
      expect(Object.keys(response).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(Object.keys(decodePart(response.access_token, 1)).sort()).toEqual([
        'aud',
        'client_id',
        'exp',
        'iat',
        'iss',
        'jti',
        'sub',
      ]);
    });

    test('RFC 6749 §5.1 expires_in: follows accessTokenLifetime', async () => {
      const short = service(variant.signing, { accessTokenLifetime: 90 });
      const response = await short.issue(client(), []);
      expect(response.expires_in).toBe(90);
      const claims = decodePart(response.access_token, 1);
      expect((claims.exp as number) - (claims.iat as number)).toBe(90);
    });

    test('RFC 9068 §2.2 aud: several audiences are written as a list', async () => {
      const multi = service(variant.signing, {
        audience: ['https://a.example', 'https://b.example'],
      });
      const { access_token } = await multi.issue(client(), []);
      expect(decodePart(access_token, 1).aud).toEqual(['https://a.example', 'https://b.example']);
      expect((await multi.verify(access_token)).claims.aud).toEqual([
        'https://a.example',
        'https://b.example',
      ]);
    });

    test('RFC 9068 §2.2: custom claims are added, registered claims cannot be overridden', async () => {
      const customClaims = jest.fn((_context: OAuth2ClaimsContext) => ({
        tenant: 't1',
        roles: ['admin'],
        iss: 'https://evil.example',
        sub: 'evil',
        aud: 'https://evil.example',
        exp: 9999999999,
        iat: 1,
        jti: 'evil',
        client_id: 'evil',
        scope: 'admin',
        nbf: 9999999999,
      }));
      const custom = service(variant.signing, { customClaims });
      const issuedTo = client();
      const { access_token, scope } = await custom.issue(issuedTo, ['reports:read']);
      expect(customClaims).toHaveBeenCalledTimes(1);
      // A view of the client without its secret material.
      expect(customClaims).toHaveBeenCalledWith({
        client: clientView(issuedTo),
        scopes: ['reports:read'],
      });
      expect(customClaims.mock.calls[0][0].client).not.toHaveProperty('clientSecret');
      expect(customClaims.mock.calls[0][0].client).not.toHaveProperty('jwks');
      const claims = decodePart(access_token, 1);
      expect(claims).toEqual({
        tenant: 't1',
        roles: ['admin'],
        iss: ISSUER,
        sub: 'testclient',
        aud: ISSUER,
        client_id: 'testclient',
        scope: 'reports:read',
        jti: expect.stringMatching(UUID),
        iat: expect.any(Number),
        exp: (claims.iat as number) + 3600,
      });
      expect(scope).toBe('reports:read');
      await expect(custom.verify(access_token)).resolves.toMatchObject({ clientId: 'testclient' });
    });

    test('RFC 9068 §2.2.3: a custom scope claim cannot add a scope when none was granted', async () => {
      const custom = service(variant.signing, { customClaims: async () => ({ scope: 'admin' }) });
      const response = await custom.issue(client(), []);
      expect(response.scope).toBeUndefined();
      expect(decodePart(response.access_token, 1)).not.toHaveProperty('scope');
    });
  });

  describe('verify', () => {
    test('RFC 9068 §4: accepts its own token and returns the principal', async () => {
      const { access_token } = await tokens.issue(client({ userId: 'user-7' }), [
        'reports:read',
        'reports:write',
      ]);
      const principal = await tokens.verify(access_token);
      expect(principal).toEqual({
        clientId: 'testclient',
        subject: 'user-7',
        scopes: ['reports:read', 'reports:write'],
        claims: decodePart(access_token, 1),
      });
    });

    test('RFC 9068 §4: a token without scope has no scopes', async () => {
      const { access_token } = await tokens.issue(client(), []);
      expect((await tokens.verify(access_token)).scopes).toEqual([]);
    });

    test('control: a hand-made token with good claims and our key is accepted', async () => {
      const principal = await tokens.verify(craft(goodHeader(), goodClaims(), variant.signer));
      expect(principal.clientId).toBe('testclient');
      expect(principal.scopes).toEqual(['reports:read']);
    });

    test.each(['AT+JWT', 'application/at+jwt', 'Application/AT+JWT'])(
      'RFC 9068 §4 / RFC 7515 §4.1.9: typ %s is accepted (media types compare case-insensitively)',
      async (typ) => {
        const token = craft({ ...goodHeader(), typ }, goodClaims(), variant.signer);
        expect((await tokens.verify(token)).clientId).toBe('testclient');
      },
    );

    test('RFC 9068 §4: aud as a list that holds our audience is accepted', async () => {
      const token = craft(
        goodHeader(),
        { ...goodClaims(), aud: ['https://other.example', ISSUER] },
        variant.signer,
      );
      expect((await tokens.verify(token)).clientId).toBe('testclient');
    });

    test('RFC 9068 §4: a token signed with another key is refused', async () => {
      await expectInvalidToken(
        tokens.verify(craft(goodHeader(), goodClaims(), variant.otherKeySigner)),
      );
    });

    test('RFC 9068 §4: a token issued by another TokenService (other key) is refused', async () => {
      const otherSigning: Record<string, OAuth2SigningOptions> = {
        HS256: { algorithm: 'HS256', secret: OTHER_HS_SECRET },
        RS256: { algorithm: 'RS256', privateKey: otherRsa.privateKey },
        ES256: { algorithm: 'ES256', privateKey: otherEc.privateKey, keyId: 'ec-2024' },
      };
      const { access_token } = await service(otherSigning[variant.name]).issue(client(), []);
      await expectInvalidToken(tokens.verify(access_token));
    });

    test('RFC 9068 §4 / RFC 6750 §3.1: an expired token is refused as expired', async () => {
      const token = craft(
        goodHeader(),
        { ...goodClaims(), iat: now() - 3700, exp: now() - 100 },
        variant.signer,
      );
      await expectInvalidToken(tokens.verify(token), 'The access token expired');
    });

    test('RFC 7519 §4.1.5: a token not valid yet (nbf in the future) is refused', async () => {
      const token = craft(goodHeader(), { ...goodClaims(), nbf: now() + 600 }, variant.signer);
      await expectInvalidToken(tokens.verify(token));
    });

    test('RFC 8725 §3.1 / RFC 7518 §3.6: alg none is refused', async () => {
      const input = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(goodClaims())}`;
      await expectInvalidToken(tokens.verify(`${input}.`));
      await expectInvalidToken(tokens.verify(input));
      const viaLibrary = jwt.sign(goodClaims(), null, {
        algorithm: 'none',
        header: { alg: 'none', typ: 'at+jwt' },
      });
      await expectInvalidToken(tokens.verify(viaLibrary));
    });

    test('RFC 8725 §2.1 / §3.1: an HS256 token keyed with the public key PEM is refused (algorithm confusion)', async () => {
      const header = { alg: 'HS256', typ: 'at+jwt' };
      await expectInvalidToken(tokens.verify(craft(header, goodClaims(), hmac(variant.publicPem))));
      // The same bytes with a trailing newline stripped, as attackers try both.
      await expectInvalidToken(
        tokens.verify(craft(header, goodClaims(), hmac(variant.publicPem.trimEnd()))),
      );
    });

    test('RFC 8725 §3.1: another algorithm than the configured one is refused', async () => {
      const foreign: Record<string, [string, Signer]> = {
        HS256: ['RS256', rs256(rsa.privateKey)],
        RS256: ['ES256', es256(ec.privateKey)],
        ES256: ['HS256', hmac(HS_SECRET)],
      };
      const [alg, signer] = foreign[variant.name];
      await expectInvalidToken(tokens.verify(craft({ alg, typ: 'at+jwt' }, goodClaims(), signer)));
    });

    test('RFC 9068 §4 iss: a token of another issuer is refused', async () => {
      const token = craft(
        goodHeader(),
        { ...goodClaims(), iss: 'https://evil.example' },
        variant.signer,
      );
      await expectInvalidToken(tokens.verify(token));
      const slash = craft(goodHeader(), { ...goodClaims(), iss: `${ISSUER}/` }, variant.signer);
      await expectInvalidToken(tokens.verify(slash));
    });

    test('RFC 9068 §4 aud: a token for another audience is refused', async () => {
      const token = craft(
        goodHeader(),
        { ...goodClaims(), aud: 'https://other.example' },
        variant.signer,
      );
      await expectInvalidToken(tokens.verify(token));
      const { aud: _aud, ...noAud } = goodClaims();
      await expectInvalidToken(tokens.verify(craft(goodHeader(), noAud, variant.signer)));
    });

    test.each([
      ['JWT', 'JWT'],
      ['jwt', 'jwt'],
      ['at+jwt with a parameter', 'application/at+jwt; q=1'],
      ['a number', 1],
    ])('RFC 9068 §4: typ %s is refused', async (_name, typ) => {
      const token = craft({ ...goodHeader(), typ }, goodClaims(), variant.signer);
      await expectInvalidToken(tokens.verify(token));
    });

    test('RFC 9068 §4: a token without typ is refused', async () => {
      const { typ: _typ, ...header } = goodHeader();
      await expectInvalidToken(tokens.verify(craft(header, goodClaims(), variant.signer)));
    });

    test.each(['client_id', 'sub', 'jti', 'exp', 'iat'])(
      'RFC 9068 §2.2: a token without the REQUIRED %s claim is refused',
      async (claim) => {
        const claims = goodClaims();
        delete claims[claim];
        await expectInvalidToken(tokens.verify(craft(goodHeader(), claims, variant.signer)));
      },
    );

    test.each([
      ['client_id', 42],
      ['sub', null],
      ['jti', 1],
      ['scope', ['reports:read']],
    ])('RFC 9068 §2.2: a token whose %s is not a string is refused', async (claim, value) => {
      const token = craft(goodHeader(), { ...goodClaims(), [claim]: value }, variant.signer);
      await expectInvalidToken(tokens.verify(token));
    });

    test('RFC 7515 §4.1.11: a crit header is refused', async () => {
      const token = craft(
        { ...goodHeader(), crit: ['exp'], exp: now() + 60 },
        goodClaims(),
        variant.signer,
      );
      await expectInvalidToken(tokens.verify(token));
      const empty = craft({ ...goodHeader(), crit: [] }, goodClaims(), variant.signer);
      await expectInvalidToken(tokens.verify(empty));
    });

    test('RFC 7515 §5.2: a token whose payload was changed is refused', async () => {
      const { access_token } = await tokens.issue(client(), ['reports:read']);
      const [header, , signature] = access_token.split('.');
      const forged = `${header}.${b64url({ ...decodePart(access_token, 1), scope: 'admin' })}.${signature}`;
      await expectInvalidToken(tokens.verify(forged));
    });

    test.each([
      ['empty', ''],
      ['one part', 'abc'],
      ['two parts', 'abc.def'],
      ['three junk parts', 'abc.def.ghi'],
      ['four parts', 'a.b.c.d'],
      ['JSON that is not an object', `${b64url('x')}.${b64url('y')}.`],
    ])('RFC 7519 §7.2: garbage (%s) is refused', async (_name, token) => {
      await expectInvalidToken(tokens.verify(token));
    });

    test('RFC 6750 §3: the error knows no realm; the same invalid_token whatever the realm', async () => {
      const realmed = service(variant.signing, { realm: 'Reports API' });
      const error = await rejection(realmed.verify('abc'));
      expect(error.error).toBe('invalid_token');
      expect(error.getStatus()).toBe(401);
      expect(error.description).toBe('The access token is invalid');
      expect(JSON.stringify(error.getResponse())).not.toContain('Reports API');
    });
  });

  describe('revocation (RFC 7009)', () => {
    test('a token whose jti the store holds is refused as revoked; another of the same client is not', async () => {
      const revocations = new InMemoryOAuth2RevocationStore();
      const own = service(variant.signing, {}, revocations);
      const revoked = (await own.issue(client(), [])).access_token;
      const kept = (await own.issue(client(), [])).access_token;
      const { claims } = await own.verify(revoked);
      await revocations.revoke({ kind: 'token', jti: claims.jti, expiresAt: claims.exp * 1000 });
      await expectInvalidToken(own.verify(revoked), 'The access token was revoked');
      expect((await own.verify(kept)).clientId).toBe('testclient');
    });

    test("a client's revocation refuses every token it was issued before, not another client's", async () => {
      const revocations = new InMemoryOAuth2RevocationStore();
      const own = service(variant.signing, {}, revocations);
      const before = (await own.issue(client(), [])).access_token;
      const other = (await own.issue(client({ clientId: 'other' }), [])).access_token;
      await revocations.revoke(
        clientRevocation('testclient', Date.now(), {
          maxAccessTokenLifetime: 3600,
          clockTolerance: 0,
        }),
      );
      await expectInvalidToken(own.verify(before), 'The access token was revoked');
      expect((await own.verify(other)).clientId).toBe('other');
    });

    test('the revocation check comes after the signature: a forged token is invalid, not revoked', async () => {
      const revocations = new InMemoryOAuth2RevocationStore();
      const own = service(variant.signing, {}, revocations);
      const claims = goodClaims();
      await revocations.revoke({
        kind: 'token',
        jti: claims.jti as string,
        expiresAt: Date.now() + 60_000,
      });
      await expectInvalidToken(own.verify(craft(goodHeader(), claims, variant.otherKeySigner)));
      await expectInvalidToken(
        own.verify(craft(goodHeader(), claims, variant.signer)),
        'The access token was revoked',
      );
    });
  });

  describe('verifyIssued (for revocation and introspection)', () => {
    test('takes a token of ours for any audience (RFC 8707), which verify refuses', async () => {
      const token = craft(
        goodHeader(),
        { ...goodClaims(), aud: 'https://api.example.com/reports' },
        variant.signer,
      );
      await expectInvalidToken(tokens.verify(token));
      const principal = await tokens.verifyIssued(token);
      expect(principal?.clientId).toBe('testclient');
      expect(principal?.claims.aud).toBe('https://api.example.com/reports');
    });

    test.each([
      ['another key', (): string => craft(goodHeader(), goodClaims(), variant.otherKeySigner)],
      [
        'another issuer',
        (): string =>
          craft(goodHeader(), { ...goodClaims(), iss: 'https://evil.example' }, variant.signer),
      ],
      [
        'another typ',
        (): string => craft({ ...goodHeader(), typ: 'JWT' }, goodClaims(), variant.signer),
      ],
      ['garbage', (): string => 'abc.def.ghi'],
      [
        'an expired one',
        (): string =>
          craft(
            goodHeader(),
            { ...goodClaims(), iat: now() - 3700, exp: now() - 100 },
            variant.signer,
          ),
      ],
    ])('refuses %s as verify does: undefined', async (_name, make) => {
      await expect(tokens.verify(make())).rejects.toMatchObject({ error: 'invalid_token' });
      await expect(tokens.verifyIssued(make())).resolves.toBeUndefined();
    });

    test('does not consult the revocation store; isRevoked does', async () => {
      const revocations = new InMemoryOAuth2RevocationStore();
      const own = service(variant.signing, {}, revocations);
      const token = (await own.issue(client(), [])).access_token;
      const principal = (await own.verifyIssued(token))!;
      expect(own.isRevoked(principal)).toBe(false);
      await revocations.revoke({
        kind: 'token',
        jti: principal.claims.jti,
        expiresAt: Date.now() + 60_000,
      });
      await expect(own.verifyIssued(token)).resolves.toEqual(principal);
      expect(own.isRevoked(principal)).toBe(true);
    });
  });

  test('is the AccessTokenVerifier of OAuth2Guard', () => {
    expect(tokens).toBeInstanceOf(AccessTokenVerifier);
  });
});

describe('createJwtService', () => {
  test('holds no key of its own: each call takes its key from the key ring', () => {
    const config = new OAuth2Config({
      issuer: ISSUER,
      signing: { algorithm: 'ES256', privateKey: ec.privateKey },
    });
    expect(() => createJwtService(config).sign({ a: 1 })).toThrow(
      'secretOrPrivateKey must have a value',
    );
  });
});

/** The claims RFC 9068 requires, for client `x`, expiring at `exp`. */
const minimalClaims = (exp: number) => ({
  iss: ISSUER,
  sub: 'x',
  aud: ISSUER,
  client_id: 'x',
  jti: 'j',
  iat: exp - 60,
  exp,
});

describe('signing keys in rotation', () => {
  const before = service({ algorithm: 'ES256', privateKey: ec.privateKey });
  const during = service([
    { algorithm: 'ES256', privateKey: ec.privateKey, state: 'retired' },
    { algorithm: 'RS256', privateKey: rsa.privateKey, state: 'active' },
    { algorithm: 'ES256', privateKey: otherEc.privateKey, state: 'next' },
  ]);
  const after = service({ algorithm: 'RS256', privateKey: rsa.privateKey });

  test('the active key signs, and its kid names it', async () => {
    const { access_token } = await during.issue(client(), ['reports:read']);
    expect(decodePart(access_token, 0)).toEqual({
      alg: 'RS256',
      typ: 'at+jwt',
      kid: jwkThumbprint(rsa.publicKey),
    });
  });

  test("a retired key's tokens stay valid; once it is removed they are refused", async () => {
    const { access_token } = await before.issue(client(), ['reports:read']);
    await expect(during.verify(access_token)).resolves.toMatchObject({ clientId: 'testclient' });
    await expect(after.verify(access_token)).rejects.toMatchObject({ error: 'invalid_token' });
  });

  test('a token naming a key by kid with another algorithm is refused (the key fixes it)', async () => {
    const forged = craft(
      { alg: 'ES256', typ: 'at+jwt', kid: jwkThumbprint(rsa.publicKey) },
      minimalClaims(now() + 60),
      (input) =>
        sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    await expect(during.verify(forged)).rejects.toMatchObject({ error: 'invalid_token' });
  });

  test('a kid no key in force has, or none with several keys, is refused', async () => {
    const claims = minimalClaims(now() + 60);
    const rs256 = (input: string) => sign('sha256', Buffer.from(input), rsa.privateKey);
    const unknownKid = craft({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown' }, claims, rs256);
    const noKid = craft({ alg: 'RS256', typ: 'at+jwt' }, claims, rs256);
    const rightKid = craft(
      { alg: 'RS256', typ: 'at+jwt', kid: jwkThumbprint(rsa.publicKey) },
      claims,
      rs256,
    );
    await expect(during.verify(rightKid)).resolves.toMatchObject({ clientId: 'x' });
    await expect(during.verify(unknownKid)).rejects.toMatchObject({ error: 'invalid_token' });
    await expect(during.verify(noKid)).rejects.toMatchObject({ error: 'invalid_token' });
  });
});

describe('verification bounds shared with the resource server', () => {
  const claims = minimalClaims;
  const signed = (payload: object) =>
    craft({ alg: 'ES256', typ: 'at+jwt', kid: jwkThumbprint(ec.publicKey) }, payload, (input) =>
      sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    );

  test('clockTolerance: a token expired 5 s ago passes with 10 s of tolerance, not with none', async () => {
    const token = signed(claims(now() - 5));
    const strict = service({ algorithm: 'ES256', privateKey: ec.privateKey });
    const tolerant = service(
      { algorithm: 'ES256', privateKey: ec.privateKey },
      { clockTolerance: 10 },
    );
    await expect(strict.verify(token)).rejects.toMatchObject({
      error: 'invalid_token',
      description: 'The access token expired',
    });
    await expect(tolerant.verify(token)).resolves.toMatchObject({ clientId: 'x' });
  });

  test('a token over 8 KiB is refused before it is parsed', async () => {
    const tokens = service({ algorithm: 'ES256', privateKey: ec.privateKey });
    const padded = signed({ ...claims(now() + 60), padding: 'x'.repeat(8 * 1024) });
    const verify = jest.spyOn(JwtService.prototype, 'verify');
    try {
      await expect(tokens.verify(padded)).rejects.toMatchObject({ error: 'invalid_token' });
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });
});

describe('the verified-token cache (accessTokenCache)', () => {
  const ES = { algorithm: 'ES256', privateKey: ec.privateKey, keyId: 'ec-1' } as const;
  const RS = { algorithm: 'RS256', privateKey: rsa.privateKey, keyId: 'rs-1' } as const;

  /** A key ring whose keys a test replaces, as a key store's reload does. */
  class ReloadingKeyRing extends OAuth2KeyRing {
    constructor(public current: SigningKeySet) {
      super();
    }
  }

  function cached(
    signing: OAuth2SigningOptions = ES,
    overrides: Partial<OAuth2ModuleOptions> = {},
    revocations = new InMemoryOAuth2RevocationStore(),
  ) {
    const config = new OAuth2Config({ issuer: ISSUER, signing, ...overrides });
    const jwt = createJwtService(config);
    const keyRing = new ReloadingKeyRing(config.keys!);
    const tokens = new TokenService(jwt, config, keyRing, revocations);
    // Verification runs on a JwtService per key (JwtAccessTokenReader), not on the injected one.
    const verifications = jest.spyOn(JwtService.prototype, 'verify');
    return { tokens, keyRing, revocations, verifications };
  }

  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('a token presented a third time is not verified again, and its principal cannot be changed', async () => {
    const { tokens, verifications } = cached();
    const { access_token } = await tokens.issue(client(), ['reports:read']);
    const first = await tokens.verify(access_token);
    // Admitted on its second verification: a token presented once costs the cache nothing.
    await tokens.verify(access_token);
    const again = await tokens.verify(access_token);
    expect(again).toEqual(first);
    expect(verifications).toHaveBeenCalledTimes(2);
    await tokens.verify(access_token);
    expect(verifications).toHaveBeenCalledTimes(2);
    expect(Object.isFrozen(again) && Object.isFrozen(again.scopes)).toBe(true);
    expect(Object.isFrozen(again.claims)).toBe(true);
    expect(() => (again.scopes as string[]).push('reports:write')).toThrow(TypeError);
  });

  test('every principal is frozen, the first one too', async () => {
    const { tokens } = cached();
    const { access_token } = await tokens.issue(client(), ['reports:read']);
    const first = await tokens.verify(access_token);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes)).toBe(true);
    expect(Object.isFrozen(first.claims)).toBe(true);
  });

  test('iss and aud are checked whatever the injected JwtService was built with', async () => {
    const config = new OAuth2Config({ issuer: ISSUER, signing: ES });
    const bare = new TokenService(
      new JwtService(),
      config,
      new StaticKeyRing(config.keys!),
      new InMemoryOAuth2RevocationStore(),
    );
    const signed = (claims: object) =>
      craft({ alg: 'ES256', typ: 'at+jwt', kid: 'ec-1' }, claims, (input) =>
        sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
      );
    const claims = minimalClaims(now() + 60);
    await expect(bare.verify(signed(claims))).resolves.toMatchObject({ clientId: 'x' });
    await expectInvalidToken(bare.verify(signed({ ...claims, aud: 'https://other.example' })));
    await expectInvalidToken(bare.verify(signed({ ...claims, iss: 'https://other.example' })));
  });

  test('a token revoked after it was cached is refused: revocation is checked on every hit', async () => {
    const { tokens, revocations, verifications } = cached();
    const one = (await tokens.issue(client(), [])).access_token;
    const two = (await tokens.issue(client({ clientId: 'other' }), [])).access_token;
    for (const token of [one, two, one, two]) await tokens.verify(token);
    const { claims } = await tokens.verify(one);
    expect(verifications).toHaveBeenCalledTimes(4);
    await revocations.revoke({ kind: 'token', jti: claims.jti, expiresAt: claims.exp * 1000 });
    await expectInvalidToken(tokens.verify(one), 'The access token was revoked');
    await revocations.revoke(
      clientRevocation('other', Date.now(), { maxAccessTokenLifetime: 3600, clockTolerance: 0 }),
    );
    await expectInvalidToken(tokens.verify(two), 'The access token was revoked');
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  test('a cached token expires at its exp (plus the clock tolerance), not later', async () => {
    const { tokens, verifications } = cached(ES, { clockTolerance: 5 });
    const { access_token } = await tokens.issue(client(), [], { lifetime: 60 });
    await tokens.verify(access_token);
    const { claims } = await tokens.verify(access_token);
    const clock = jest.spyOn(Date, 'now');
    try {
      clock.mockReturnValue((claims.exp + 4) * 1000);
      await expect(tokens.verify(access_token)).resolves.toMatchObject({ clientId: 'testclient' });
      expect(verifications).toHaveBeenCalledTimes(2);
      clock.mockReturnValue((claims.exp + 5) * 1000);
      await expectInvalidToken(tokens.verify(access_token), 'The access token expired');
    } finally {
      clock.mockRestore();
    }
  });

  test('a key no longer in force refuses its cached tokens at once; a reload of the same keys re-verifies once', async () => {
    const { tokens, keyRing, verifications } = cached([
      { ...ES, state: 'active' },
      { ...RS, state: 'next' },
    ]);
    const { access_token } = await tokens.issue(client(), []);
    await tokens.verify(access_token);
    await tokens.verify(access_token);
    // Reloaded, the same keys: new objects, so the token is verified once more, then held again.
    keyRing.current = SigningKeySet.fromOptions([
      { ...ES, state: 'retired' },
      { ...RS, state: 'active' },
    ]);
    await tokens.verify(access_token);
    await tokens.verify(access_token);
    expect(verifications).toHaveBeenCalledTimes(3);
    // The key removed: refused, though the token was cached a moment ago.
    keyRing.current = SigningKeySet.fromOptions(RS);
    await expectInvalidToken(tokens.verify(access_token));
    // Its kid given to another key: refused as well (the signature does not match that key).
    keyRing.current = SigningKeySet.fromOptions({ ...ES, privateKey: otherEc.privateKey });
    await expectInvalidToken(tokens.verify(access_token));
  });

  test('only tokens that pass are held: a refused token is verified, and refused, every time', async () => {
    const { tokens, verifications } = cached();
    const forged = craft(
      { alg: 'ES256', typ: 'at+jwt', kid: 'ec-1' },
      minimalClaims(now() + 60),
      (input) =>
        sign('sha256', Buffer.from(input), { key: otherEc.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    await expectInvalidToken(tokens.verify(forged));
    await expectInvalidToken(tokens.verify(forged));
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  test('bounded: past maxEntries the oldest token makes room', async () => {
    const { tokens, verifications } = cached(ES, { accessTokenCache: { maxEntries: 2 } });
    const issued = await Promise.all(
      [1, 2, 3].map(async () => (await tokens.issue(client(), [])).access_token),
    );
    for (const token of issued) {
      await tokens.verify(token);
      await tokens.verify(token);
    }
    expect(verifications).toHaveBeenCalledTimes(6);
    await tokens.verify(issued[2]);
    await tokens.verify(issued[1]);
    expect(verifications).toHaveBeenCalledTimes(6);
    await tokens.verify(issued[0]);
    expect(verifications).toHaveBeenCalledTimes(7);
  });

  test('tokens each presented once are never held: a pool larger than the cache always verifies', async () => {
    const { tokens, verifications } = cached(ES, { accessTokenCache: { maxEntries: 2 } });
    const issued = await Promise.all(
      [1, 2, 3, 4].map(async () => (await tokens.issue(client(), [])).access_token),
    );
    for (let round = 0; round < 3; round++) for (const token of issued) await tokens.verify(token);
    expect(verifications).toHaveBeenCalledTimes(12);
  });

  test('maxEntries 0 turns it off; verifyIssued never reads it', async () => {
    const off = cached(ES, { accessTokenCache: { maxEntries: 0 } });
    const token = (await off.tokens.issue(client(), [])).access_token;
    for (let i = 0; i < 3; i++) await off.tokens.verify(token);
    expect(off.verifications).toHaveBeenCalledTimes(3);
    const on = cached();
    // One spy on JwtService.prototype for both services: count the second one's calls alone.
    on.verifications.mockClear();
    const other = (await on.tokens.issue(client(), [])).access_token;
    for (let i = 0; i < 3; i++) await on.tokens.verify(other);
    await on.tokens.verifyIssued(other);
    expect(on.verifications).toHaveBeenCalledTimes(3);
  });
});
