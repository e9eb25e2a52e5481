import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import passport from 'passport';
import { basicCredentialsOf, parseAuthorization } from '../http/authorization.js';
import { formFields, formParameter, hasFormParameter } from '../http/form-body.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { refusal } from './auth-failure.js';
import { claimedClientId } from './client-assertion.verifier.js';

/** The built-in client authentication methods, by their RFC 7591 §2 `token_endpoint_auth_method` names. */
export const BUILT_IN_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;
export type OAuth2BuiltInAuthMethod = (typeof BUILT_IN_AUTH_METHODS)[number];

/** A client authentication method as the guard uses it. */
export interface ClientAuthMethod {
  /** Its RFC 7591 §2 name. */
  name: string;
  /** Its Passport strategy in this module instance. */
  strategy: string;
  enabled: boolean;
  isPresentIn(request: OAuth2HttpRequest): boolean;
  /**
   * The client id the request presents, read without authenticating it, for failed-authentication
   * throttling; undefined when it names none the method can read.
   */
  clientIdOf(request: OAuth2HttpRequest): string | undefined;
}

/**
 * The client authentication methods of one module instance, and the choice of the one a request uses.
 *
 * Passport keeps one process-wide strategy registry, so each module instance registers its strategies under
 * names of its own (`oauth2:client_secret_basic:3`): two Nest apps in one process never share a strategy, and
 * a host app's own `'basic'` strategy is never replaced.
 */
@Injectable()
export class ClientAuthMethods implements OnModuleDestroy {
  private static instances = 0;
  private readonly instance = ++ClientAuthMethods.instances;
  /** Methods a request shows by what it carries; `none` is what is left when it carries none of them. */
  private readonly methods: readonly ClientAuthMethod[];
  private readonly none: ClientAuthMethod;

  constructor(config: OAuth2Config) {
    this.methods = [
      {
        name: 'client_secret_basic',
        strategy: this.strategyName('client_secret_basic'),
        enabled: true,
        // Any Authorization header: a scheme other than Basic is a method this server does not take.
        isPresentIn: (request) => parseAuthorization(request.headers.authorization) !== undefined,
        clientIdOf: basicClientId,
      },
      {
        name: 'client_secret_post',
        strategy: this.strategyName('client_secret_post'),
        enabled: config.allowCredentialsInRequestBody,
        isPresentIn: (request) => hasFormParameter(formFields(request), 'client_secret'),
        clientIdOf: bodyClientId,
      },
      {
        // RFC 7521 §4.2: either parameter shows the method; a request missing the other fails it.
        name: 'private_key_jwt',
        strategy: this.strategyName('private_key_jwt'),
        enabled: true,
        isPresentIn: (request) => {
          const fields = formFields(request);
          return (
            hasFormParameter(fields, 'client_assertion_type') ||
            hasFormParameter(fields, 'client_assertion')
          );
        },
        clientIdOf: (request) => bodyClientId(request) ?? assertionClientId(request),
      },
      ...config.clientAuthMethods.map((method) => ({
        ...method,
        enabled: true,
        clientIdOf: (request: OAuth2HttpRequest) => method.clientIdOf?.(request),
      })),
    ];
    this.none = {
      name: 'none',
      strategy: this.strategyName('none'),
      enabled: config.allowPublicClients,
      isPresentIn: (request) => hasFormParameter(formFields(request), 'client_id'),
      clientIdOf: bodyClientId,
    };
  }

  /** The Passport strategy name of a built-in method in this module instance. */
  strategyName(method: OAuth2BuiltInAuthMethod): string {
    return `oauth2:${method}:${this.instance}`;
  }

  /** The enabled methods' names (RFC 8414 `token_endpoint_auth_methods_supported`). */
  get supported(): string[] {
    return [...this.methods, this.none].filter((m) => m.enabled).map((m) => m.name);
  }

  /**
   * The Passport strategy of the one method the request uses. RFC 6749 §2.3: a client must not use more than
   * one method in a request, so two are a 400 invalid_request rather than whichever succeeds first; no
   * method, or a disabled one, is the 401 invalid_client of §5.2.
   */
  strategyFor(request: OAuth2HttpRequest): string {
    return this.methodFor(request).strategy;
  }

  /** The method the request uses. */
  methodFor(request: OAuth2HttpRequest): ClientAuthMethod {
    const method = this.presentIn(request);
    if (!method) throw refusal('malformed_credentials');
    // A method this server has turned off (client_secret_post, none) is refused as not allowed.
    if (!method.enabled) throw refusal('method_not_allowed');
    return method;
  }

  /** The one method the request shows, enabled or not; undefined when it shows none. */
  presentIn(request: OAuth2HttpRequest): ClientAuthMethod | undefined {
    const present = this.methods.filter((method) => method.isPresentIn(request));
    if (present.length > 1) {
      throw refusal(
        'malformed_credentials',
        OAuth2Error.invalidRequest('Client credentials were sent by more than one method'),
      );
    }
    return present[0] ?? (this.none.isPresentIn(request) ? this.none : undefined);
  }

  /**
   * The client id the request names by any method, read without authenticating it: for the audit event of a
   * request refused before its one method was known (several methods, none).
   */
  presentedClientId(request: OAuth2HttpRequest): string | undefined {
    for (const method of [...this.methods, this.none]) {
      const clientId = method.clientIdOf(request);
      if (clientId !== undefined) return clientId;
    }
    return undefined;
  }

  /** Takes this instance's strategies out of Passport's registry when its app closes. */
  onModuleDestroy(): void {
    for (const method of BUILT_IN_AUTH_METHODS) {
      passport.unuse(this.strategyName(method));
    }
  }
}

/** The client id of Basic credentials; undefined when they cannot be read (the strategy then refuses them). */
function basicClientId(request: OAuth2HttpRequest): string | undefined {
  try {
    return basicCredentialsOf(request)?.clientId;
  } catch {
    return undefined;
  }
}

/** The form body's `client_id`; undefined when absent or malformed. */
function bodyClientId(request: OAuth2HttpRequest): string | undefined {
  try {
    return formParameter(formFields(request) ?? {}, 'client_id');
  } catch {
    return undefined;
  }
}

/** The client an assertion claims to be (its `sub`, unverified), for throttling its failures. */
function assertionClientId(request: OAuth2HttpRequest): string | undefined {
  try {
    const assertion = formParameter(formFields(request) ?? {}, 'client_assertion');
    return assertion === undefined ? undefined : claimedClientId(assertion);
  } catch {
    return undefined;
  }
}
