/**
 * A health indicator for @nestjs/terminus: storage reachable, an active signing key loaded, Redis reachable
 * when configured.
 */
export class OAuth2HealthIndicator {}
