import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Error codes of RFC 6749 §5.2 (token endpoint) and RFC 6750 §3.1 (protected resources), plus `server_error`
 * for failures on our side. Only codes the library throws are listed.
 */
export type OAuth2ErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'server_error';

/** What an error needs beyond its code for the response headers; the renderer turns these into headers. */
export interface OAuth2ErrorExtras {
  /** Scopes a resource requires: the `scope` of an RFC 6750 §3 insufficient_scope challenge. */
  scope?: readonly string[];
  /** Seconds after which the client may retry (RFC 9110 §10.2.3 Retry-After). */
  retryAfter?: number;
  /** The methods a resource allows (RFC 9110 §10.2.1 Allow), for a 405. */
  allow?: string;
}

/** The JSON body of an OAuth 2.0 error response (RFC 6749 §5.2, RFC 6750 §3). */
export interface OAuth2ErrorBody {
  error: OAuth2ErrorCode;
  error_description?: string;
}

/** The 503s that shed load (`busy()`), told apart from storage outages for metrics. */
const shedLoad = new WeakSet<OAuth2Error>();

/** Whether the error is a `busy()` 503: too much key-derivation work queued, rather than storage down. */
export function isBusy(error: OAuth2Error): boolean {
  return shedLoad.has(error);
}

/** RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * The one error type of the library: what went wrong (an RFC error code, the HTTP status, a description and
 * the extras a response needs), never how to render it. It is an HttpException whose response is the RFC
 * body, so an app that renders errors its own way keeps status and body; `OAuth2ErrorRenderer` adds the
 * headers (challenges with the realm, Retry-After, Allow).
 *
 * Descriptions are fixed strings written in this library: they never echo request input.
 */
export class OAuth2Error extends HttpException {
  constructor(
    /** Undefined for a bare RFC 6750 §3.1 challenge: a request that sent no credentials at all. */
    readonly error: OAuth2ErrorCode | undefined,
    status: number,
    readonly description?: string,
    readonly extras: Readonly<OAuth2ErrorExtras> = {},
  ) {
    if (description !== undefined && !DESCRIPTION_CHARS.test(description)) {
      throw new TypeError('error_description holds characters RFC 6749 §5.2 does not allow');
    }
    super(OAuth2Error.bodyOf(error, description), status);
    this.name = 'OAuth2Error';
  }

  /** The response body; `{}` for a bare challenge (RFC 6750 §3.1: no error information). */
  get body(): OAuth2ErrorBody | Record<string, never> {
    return OAuth2Error.bodyOf(this.error, this.description);
  }

  private static bodyOf(
    error: OAuth2ErrorCode | undefined,
    description: string | undefined,
  ): OAuth2ErrorBody | Record<string, never> {
    if (error === undefined) return {};
    return description === undefined ? { error } : { error, error_description: description };
  }

  // Token endpoint errors, RFC 6749 §5.2.

  static invalidRequest(description: string, status: number = HttpStatus.BAD_REQUEST): OAuth2Error {
    return new OAuth2Error('invalid_request', status, description);
  }

  /**
   * A body the platform refused to read. Too large stays a 413 (RFC 9110 §15.5.14); anything else (an
   * unsupported media type, a parse failure) is the invalid_request 400 of §5.2.
   */
  static unreadableBody(platformStatus: number): OAuth2Error {
    return platformStatus === HttpStatus.PAYLOAD_TOO_LARGE
      ? OAuth2Error.invalidRequest('The request body is too large', HttpStatus.PAYLOAD_TOO_LARGE)
      : OAuth2Error.invalidRequest('The request body could not be read');
  }

  /**
   * A refusal by something else on the route (a host app's rate limiter or guard), in an OAuth-shaped body
   * that keeps its status. The description is the HTTP reason phrase, e.g. "Too Many Requests".
   */
  static refusedByHost(status: number, reason: string | undefined): OAuth2Error {
    const description = (reason ?? 'Request refused').replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
    return new OAuth2Error('invalid_request', status, description);
  }

  /** §5.2: a failed client authentication; the renderer adds the challenge. */
  static invalidClient(): OAuth2Error {
    return new OAuth2Error(
      'invalid_client',
      HttpStatus.UNAUTHORIZED,
      'Client authentication failed',
    );
  }

  /**
   * Too many failed authentications for this client id from this address (or, under a distributed attack,
   * from everywhere): RFC 6585 §4 429 with Retry-After. The code stays invalid_client, the failure it follows.
   */
  static tooManyFailures(retryAfter: number): OAuth2Error {
    return new OAuth2Error(
      'invalid_client',
      HttpStatus.TOO_MANY_REQUESTS,
      'Too many failed client authentications, retry later',
      { retryAfter },
    );
  }

  static unauthorizedClient(description: string): OAuth2Error {
    return new OAuth2Error('unauthorized_client', HttpStatus.BAD_REQUEST, description);
  }

  static unsupportedGrantType(): OAuth2Error {
    return new OAuth2Error(
      'unsupported_grant_type',
      HttpStatus.BAD_REQUEST,
      'The grant type is not supported by this server',
    );
  }

  static invalidScope(description: string): OAuth2Error {
    return new OAuth2Error('invalid_scope', HttpStatus.BAD_REQUEST, description);
  }

  /** RFC 8707 §2: a `resource` that is not an absolute URI, or one the client may not get a token for. */
  static invalidTarget(description: string): OAuth2Error {
    return new OAuth2Error('invalid_target', HttpStatus.BAD_REQUEST, description);
  }

  /** RFC 9110 §15.5.6: `endpoint` names where, e.g. "token endpoint". */
  static methodNotAllowed(allow: string, endpoint = 'token endpoint'): OAuth2Error {
    return new OAuth2Error(
      'invalid_request',
      HttpStatus.METHOD_NOT_ALLOWED,
      `The ${endpoint} accepts ${allow} only`,
      { allow },
    );
  }

  /** Storage unreachable: the client may retry. */
  static temporarilyUnavailable(retryAfter: number): OAuth2Error {
    return OAuth2Error.retryLater('The service is temporarily unavailable', retryAfter);
  }

  /** Shed load (too much key-derivation work queued): the client should retry shortly. */
  static busy(retryAfter: number): OAuth2Error {
    const error = OAuth2Error.retryLater('The server is busy', retryAfter);
    shedLoad.add(error);
    return error;
  }

  /** RFC 6749 §5.2 has no code for "unavailable"; server_error with a 503 and Retry-After says it. */
  private static retryLater(reason: string, retryAfter: number): OAuth2Error {
    return new OAuth2Error(
      'server_error',
      HttpStatus.SERVICE_UNAVAILABLE,
      `${reason}, retry later`,
      {
        retryAfter,
      },
    );
  }

  static serverError(): OAuth2Error {
    return new OAuth2Error(
      'server_error',
      HttpStatus.INTERNAL_SERVER_ERROR,
      'The server could not complete the request',
    );
  }

  // Protected resource errors, RFC 6750 §3 and §3.1.

  /** §3.1: a request without any credentials gets the challenge alone, with no error code. */
  static missingToken(): OAuth2Error {
    return new OAuth2Error(undefined, HttpStatus.UNAUTHORIZED);
  }

  static invalidToken(description: string): OAuth2Error {
    return new OAuth2Error('invalid_token', HttpStatus.UNAUTHORIZED, description);
  }

  static insufficientScope(required: readonly string[]): OAuth2Error {
    return new OAuth2Error(
      'insufficient_scope',
      HttpStatus.FORBIDDEN,
      'The access token does not grant the scope this resource requires',
      { scope: required },
    );
  }
}
