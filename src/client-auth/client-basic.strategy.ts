import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { BasicStrategy } from 'passport-http';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAUTH2_CLIENT_BASIC_STRATEGY } from '../oauth2.constants.js';
import { authenticatePresented } from './presented-credentials.js';

/**
 * HTTP Basic client authentication (RFC 6749 §2.3.1) through passport-http.
 *
 * passport-http splits the user-pass at every colon (so a secret holding one is cut short) and knows nothing
 * of Appendix B encoding. ClientAuthGuard has already parsed the header strictly, so the callback takes the
 * request and checks those credentials instead of passport-http's split.
 */
@Injectable()
export class ClientBasicStrategy extends PassportStrategy(
  BasicStrategy,
  OAUTH2_CLIENT_BASIC_STRATEGY,
) {
  constructor() {
    super({ passReqToCallback: true });
  }

  validate(request: object): Promise<OAuthClient> {
    return authenticatePresented(request);
  }
}
