import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import CustomStrategy from 'passport-custom';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { formParameter, readFormBody } from '../http/form-body.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { remoteAddressOf } from '../http/remote-address.js';
import { refusal } from './auth-failure.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientAuthMethods, type OAuth2BuiltInAuthMethod } from './client-auth-methods.js';

/** passport-custom's strategy, registered under a name of our choosing instead of `'custom'`. */
class NamedFormStrategy extends CustomStrategy {
  constructor(options: { name: string }, verify: CustomStrategy.VerifyCallback) {
    super(verify);
    (this as { name: string }).name = options.name;
  }
}

/** A strategy reading the form body, registered under its method's name in this module instance. */
@Injectable()
abstract class FormClientStrategy extends PassportStrategy(NamedFormStrategy) {
  /** The method the subclass implements. */
  static readonly method: OAuth2BuiltInAuthMethod;

  constructor(
    protected readonly authenticator: ClientAuthenticator,
    methods: ClientAuthMethods,
  ) {
    super({ name: methods.strategyName((new.target as typeof FormClientStrategy).method) });
  }
}

/** `client_secret_post` (RFC 7591 §2): `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1). */
@Injectable()
export class ClientSecretPostStrategy extends FormClientStrategy {
  static override readonly method = 'client_secret_post';

  validate(request: OAuth2HttpRequest): Promise<OAuthClient> {
    const body = readFormBody(request);
    const clientSecret = formParameter(body, 'client_secret');
    const clientId = formParameter(body, 'client_id');
    if (clientId === undefined || clientSecret === undefined)
      throw refusal('malformed_credentials');
    return this.authenticator.authenticate(clientId, clientSecret, remoteAddressOf(request));
  }
}

/**
 * `none` (RFC 7591 §2): a public client (RFC 6749 §2.1) that identifies itself with `client_id` alone
 * (§3.2.1). The guard picks it only while `allowPublicClients` is on.
 */
@Injectable()
export class PublicClientStrategy extends FormClientStrategy {
  static override readonly method = 'none';

  validate(request: OAuth2HttpRequest): Promise<OAuthClient> {
    const clientId = formParameter(readFormBody(request), 'client_id');
    if (clientId === undefined) throw refusal('malformed_credentials');
    return this.authenticator.authenticate(clientId, undefined, remoteAddressOf(request));
  }
}
