import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { BasicStrategy, type BasicVerifyFunctionWithRequest } from 'passport-http';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { basicCredentialsOf } from '../http/authorization.js';
import { formFields, formParameter } from '../http/form-body.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { remoteAddressOf } from '../http/remote-address.js';
import { refusal } from './auth-failure.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientAuthMethods } from './client-auth-methods.js';

/** What passport-http's BasicStrategy has at run time beyond its published types. */
interface BasicStrategyInternals {
  _verify(
    request: OAuth2HttpRequest,
    clientId: string,
    clientSecret: string,
    done: (error: unknown, user?: unknown) => void,
  ): void;
  _challenge(): string;
  success(user: unknown): void;
  fail(challenge: string): void;
  error(error: unknown): void;
}

/**
 * passport-http's BasicStrategy with the decoding RFC 6749 §2.3.1 asks for. passport-http splits the user-pass
 * at EVERY colon (a secret holding one is cut short), decodes base64 leniently (through the deprecated
 * `new Buffer()`) and knows nothing of Appendix B form-encoding; so only the reading of the header is
 * replaced here. The verify callback, the challenge and the success/fail/error outcome stay passport-http's.
 */
class RfcBasicStrategy extends BasicStrategy {
  constructor(options: { name: string }, verify: BasicVerifyFunctionWithRequest) {
    // The request goes to the verify callback: its remote address shares KDF work fairly.
    super({ passReqToCallback: true }, verify);
    this.name = options.name;
  }

  override authenticate(platformRequest: Parameters<BasicStrategy['authenticate']>[0]): void {
    const request = platformRequest as unknown as OAuth2HttpRequest;
    const self = this as unknown as BasicStrategyInternals;
    let credentials: { clientId: string; clientSecret: string };
    try {
      const basic = basicCredentialsOf(request);
      if (basic === undefined) return self.fail(self._challenge());
      credentials = basic;
      // A body client_id next to Basic credentials must name the same client (RFC 6749 §2.3.1).
      const bodyId = formParameter(formFields(request) ?? {}, 'client_id');
      if (bodyId !== undefined && bodyId !== credentials.clientId) {
        throw refusal(
          'malformed_credentials',
          OAuth2Error.invalidRequest(
            'The client_id parameter does not match the Basic credentials',
          ),
        );
      }
    } catch (error) {
      return self.error(error);
    }
    self._verify(request, credentials.clientId, credentials.clientSecret, (error, client) => {
      if (error) return self.error(error);
      if (!client) return self.fail(self._challenge());
      self.success(client);
    });
  }
}

/** `client_secret_basic` (RFC 7591 §2): client id and secret in HTTP Basic credentials (RFC 6749 §2.3.1). */
@Injectable()
export class ClientSecretBasicStrategy extends PassportStrategy(RfcBasicStrategy) {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    methods: ClientAuthMethods,
  ) {
    super({ name: methods.strategyName('client_secret_basic') });
  }

  validate(
    request: OAuth2HttpRequest,
    clientId: string,
    clientSecret: string,
  ): Promise<OAuthClient> {
    return this.authenticator.authenticate(clientId, clientSecret, remoteAddressOf(request));
  }
}
