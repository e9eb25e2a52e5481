import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAUTH2_PUBLIC_METADATA, OAUTH2_SCOPES_METADATA } from '../oauth2.constants.js';
import type { OAuthPrincipal } from '../token/access-token.interface.js';
import { formParameter, isFormRequest, type OAuth2HttpRequest } from '../token/form-request.js';
import { TokenService } from '../token/token.service.js';

const PRINCIPAL = Symbol('oauth2.principal');
/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
const BEARER_CREDENTIALS = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 9110 §11.4 / RFC 6750 §2.1: auth-scheme, then 1*SP before the credentials. */
const AUTH_SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;

/** The principal OAuth2Guard attached to the request, if it ran. */
export function principalOf(request: object): OAuthPrincipal | undefined {
  return (request as Record<symbol, OAuthPrincipal | undefined>)[PRINCIPAL];
}

/**
 * Protects routes with the access tokens this module issues (RFC 6750). Use it per route, per controller
 * (`@UseGuards(OAuth2Guard)`) or app-wide (`APP_GUARD`, with `@OAuth2Public()` on open routes). Subclass it and
 * override the protected hooks to read the token or the request differently.
 */
@Injectable()
export class OAuth2Guard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly tokens: TokenService,
    protected readonly config: OAuth2Config,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(OAUTH2_PUBLIC_METADATA, targets)) return true;

    const request = this.getRequest(context);
    const token = this.extractToken(request);
    if (token === undefined) throw OAuth2Error.bearerChallenge(this.config.realm);
    const principal = await this.tokens.verify(token);

    const required = this.reflector.getAllAndMerge<string[]>(OAUTH2_SCOPES_METADATA, targets) ?? [];
    const held = new Set(principal.scopes);
    if (!required.every((scope) => held.has(scope))) {
      throw OAuth2Error.insufficientScope(this.config.realm, [...new Set(required)]);
    }
    request[PRINCIPAL] = principal;
    return true;
  }

  protected getRequest(context: ExecutionContext): OAuth2HttpRequest {
    return context.switchToHttp().getRequest<OAuth2HttpRequest>();
  }

  /**
   * The bearer token, from the Authorization header (RFC 6750 §2.1) or, when enabled, a form-encoded POST body
   * (§2.2). Never from the query string (§2.3; RFC 9700 §4.3.2 advises against it). Sending it by more than
   * one method is an invalid_request (§2).
   */
  protected extractToken(request: OAuth2HttpRequest): string | undefined {
    const fromHeader = this.tokenFromHeader(request.headers.authorization);
    const fromBody = this.tokenFromBody(request);
    if (fromHeader !== undefined && fromBody !== undefined) {
      throw this.invalidRequest('The access token was sent by more than one method');
    }
    return fromHeader ?? fromBody;
  }

  private tokenFromHeader(header: string | string[] | undefined): string | undefined {
    if (header === undefined) return undefined;
    const match = AUTH_SCHEME.exec(String(header));
    if (!match) throw this.invalidRequest('The Authorization header is malformed');
    if (match[1].toLowerCase() !== 'bearer') return undefined;
    const credentials = match[2] ?? '';
    if (!BEARER_CREDENTIALS.test(credentials)) {
      throw this.invalidRequest('The Bearer credentials are malformed');
    }
    return credentials;
  }

  private tokenFromBody(request: OAuth2HttpRequest): string | undefined {
    if (
      !this.config.allowAccessTokenInBody ||
      request.method !== 'POST' ||
      !isFormRequest(request)
    ) {
      return undefined;
    }
    const body = request.body;
    if (typeof body !== 'object' || body === null) return undefined;
    try {
      return formParameter(body as Record<string, unknown>, 'access_token');
    } catch {
      throw this.invalidRequest('The access_token parameter is repeated or malformed');
    }
  }

  private invalidRequest(description: string): OAuth2Error {
    return OAuth2Error.invalidBearerRequest(this.config.realm, description);
  }
}
