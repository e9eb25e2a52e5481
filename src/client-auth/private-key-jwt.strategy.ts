import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import CustomStrategy from 'passport-custom';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { formParameter, readFormBody } from '../http/form-body.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { ClientAssertionVerifier } from './client-assertion.verifier.js';
import { ClientAuthMethods } from './client-auth-methods.js';

/** passport-custom's strategy under this module instance's `private_key_jwt` name. */
class NamedAssertionStrategy extends CustomStrategy {
  constructor(name: string, verify: CustomStrategy.VerifyCallback) {
    super(verify);
    (this as { name: string }).name = name;
  }
}

/**
 * `private_key_jwt` (RFC 7591 §2): the client authenticates with `client_assertion_type` and a
 * `client_assertion` it signed with its private key (RFC 7523 §2.2, RFC 7521 §4.2); `client_id` is
 * optional. Each parameter may be sent once (RFC 6749 §3.2: a repeated one is a 400 invalid_request).
 */
@Injectable()
export class PrivateKeyJwtStrategy extends PassportStrategy(NamedAssertionStrategy) {
  constructor(
    private readonly verifier: ClientAssertionVerifier,
    methods: ClientAuthMethods,
  ) {
    super(methods.strategyName('private_key_jwt'));
  }

  validate(request: OAuth2HttpRequest): Promise<OAuthClient> {
    const body = readFormBody(request);
    return this.verifier.authenticate({
      clientAssertionType: formParameter(body, 'client_assertion_type'),
      clientAssertion: formParameter(body, 'client_assertion'),
      clientId: formParameter(body, 'client_id'),
    });
  }
}
