import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAUTH2_CLIENT_BODY_STRATEGY } from '../oauth2.constants.js';
import { authenticatePresented } from './presented-credentials.js';

/** `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1), or `client_id` alone (§3.2.1). */
@Injectable()
export class ClientBodyStrategy extends PassportStrategy(Strategy, OAUTH2_CLIENT_BODY_STRATEGY) {
  constructor() {
    super();
  }

  validate(request: object): Promise<OAuthClient> {
    return authenticatePresented(request);
  }
}
