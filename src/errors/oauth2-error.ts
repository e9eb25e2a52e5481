import { STATUS_CODES } from 'node:http';
import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Error codes of RFC 6749 §5.2 (token endpoint) and RFC 6750 §3.1 (protected resources), plus `server_error`
 * for failures on our side.
 */
export type OAuth2ErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'server_error';

/** RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/** The JSON body of an OAuth 2.0 error response (RFC 6749 §5.2). */
export interface OAuth2ErrorBody {
  error: OAuth2ErrorCode;
  error_description?: string;
}

/**
 * The one error type of the library: an RFC error code, the HTTP status and the headers the RFCs require with
 * it. It is an HttpException, so even an app that renders errors its own way keeps the status and body;
 * `OAuth2ExceptionFilter` also writes the headers.
 *
 * Descriptions are fixed strings written here: they never echo request input.
 */
export class OAuth2Error extends HttpException {
  constructor(
    readonly error: OAuth2ErrorCode | undefined,
    readonly description: string | undefined,
    status: number,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    if (description !== undefined && !DESCRIPTION_CHARS.test(description)) {
      throw new TypeError('error_description holds characters RFC 6749 §5.2 does not allow');
    }
    super(error ? OAuth2Error.bodyOf(error, description) : '', status);
    this.name = 'OAuth2Error';
  }

  /** The response body; undefined for a bare RFC 6750 §3.1 challenge (no credentials sent). */
  get body(): OAuth2ErrorBody | undefined {
    return this.error ? OAuth2Error.bodyOf(this.error, this.description) : undefined;
  }

  private static bodyOf(error: OAuth2ErrorCode, description: string | undefined): OAuth2ErrorBody {
    return description === undefined ? { error } : { error, error_description: description };
  }

  // Token endpoint errors, RFC 6749 §5.2.

  static invalidRequest(description: string, status: number = HttpStatus.BAD_REQUEST): OAuth2Error {
    return new OAuth2Error('invalid_request', description, status);
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
  static refusedByHost(status: number): OAuth2Error {
    const reason = (STATUS_CODES[status] ?? 'Request refused').replace(
      /[^\x20\x21\x23-\x5B\x5D-\x7E]/g,
      '',
    );
    return new OAuth2Error('invalid_request', reason, status);
  }

  /** §5.2: a failed client authentication is a 401 with a challenge for the scheme the client can use. */
  static invalidClient(realm: string): OAuth2Error {
    return new OAuth2Error(
      'invalid_client',
      'Client authentication failed',
      HttpStatus.UNAUTHORIZED,
      {
        'WWW-Authenticate': `Basic realm="${realm}"`,
      },
    );
  }

  static unauthorizedClient(description: string): OAuth2Error {
    return new OAuth2Error('unauthorized_client', description, HttpStatus.BAD_REQUEST);
  }

  static unsupportedGrantType(): OAuth2Error {
    return new OAuth2Error(
      'unsupported_grant_type',
      'The grant type is not supported by this server',
      HttpStatus.BAD_REQUEST,
    );
  }

  static invalidScope(description: string): OAuth2Error {
    return new OAuth2Error('invalid_scope', description, HttpStatus.BAD_REQUEST);
  }

  static methodNotAllowed(allow: string): OAuth2Error {
    return new OAuth2Error(
      'invalid_request',
      `The token endpoint accepts ${allow} only`,
      HttpStatus.METHOD_NOT_ALLOWED,
      { Allow: allow },
    );
  }

  /** Storage unreachable: the client may retry (RFC 9110 §10.2.3 Retry-After). */
  static temporarilyUnavailable(retryAfterSeconds: number): OAuth2Error {
    return OAuth2Error.retryLater('The service is temporarily unavailable', retryAfterSeconds);
  }

  /** Shed load (too much key-derivation work queued): the client should retry shortly. */
  static busy(retryAfterSeconds: number): OAuth2Error {
    return OAuth2Error.retryLater('The server is busy', retryAfterSeconds);
  }

  /** RFC 6749 §5.2 has no code for "unavailable"; server_error with a 503 and Retry-After says it. */
  private static retryLater(reason: string, retryAfterSeconds: number): OAuth2Error {
    return new OAuth2Error(
      'server_error',
      `${reason}, retry later`,
      HttpStatus.SERVICE_UNAVAILABLE,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }

  static serverError(): OAuth2Error {
    return new OAuth2Error(
      'server_error',
      'The server could not complete the request',
      HttpStatus.INTERNAL_SERVER_ERROR,
    );
  }

  // Protected resource errors, RFC 6750 §3 and §3.1.

  /** §3.1: a request without any credentials gets the challenge alone, with no error code. */
  static bearerChallenge(realm: string): OAuth2Error {
    return new OAuth2Error(undefined, undefined, HttpStatus.UNAUTHORIZED, {
      'WWW-Authenticate': `Bearer realm="${realm}"`,
    });
  }

  static invalidBearerRequest(realm: string, description: string): OAuth2Error {
    return OAuth2Error.bearer(realm, 'invalid_request', description, HttpStatus.BAD_REQUEST);
  }

  static invalidToken(realm: string, description: string): OAuth2Error {
    return OAuth2Error.bearer(realm, 'invalid_token', description, HttpStatus.UNAUTHORIZED);
  }

  static insufficientScope(realm: string, required: readonly string[]): OAuth2Error {
    return OAuth2Error.bearer(
      realm,
      'insufficient_scope',
      'The access token does not grant the scope this resource requires',
      HttpStatus.FORBIDDEN,
      `, scope="${required.join(' ')}"`,
    );
  }

  private static bearer(
    realm: string,
    error: OAuth2ErrorCode,
    description: string,
    status: number,
    extra = '',
  ): OAuth2Error {
    return new OAuth2Error(error, description, status, {
      'WWW-Authenticate': `Bearer realm="${realm}", error="${error}", error_description="${description}"${extra}`,
    });
  }
}
