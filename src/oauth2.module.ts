import { Inject, Module } from '@nestjs/common';
import { OAUTH2_MODULE_OPTIONS } from './oauth2.constants.js';
import { ConfigurableOAuth2Module } from './oauth2.module-definition.js';

/** Injects the options given to forRoot/forRootAsync, as given; `OAuth2Config` holds them checked. */
export const InjectOAuth2Options = (): ParameterDecorator & PropertyDecorator =>
  Inject(OAUTH2_MODULE_OPTIONS);

/**
 * The OAuth 2.0 client credentials authorization server: the token endpoint, the Passport client
 * authentication strategies, client storage, the token service and the RFC 6750 bearer guard. `forRoot` and
 * `forRootAsync` (useFactory, useClass, useExisting) come from ConfigurableModuleBuilder; the extras
 * (`tokenPath`, `tableName`, `clientRepository`, …) sit next to the options.
 *
 * ```ts
 * OAuth2Module.forRoot({ issuer: 'https://auth.example.com', signing: { algorithm: 'RS256', privateKey } })
 * ```
 */
@Module({})
export class OAuth2Module extends ConfigurableOAuth2Module {}
