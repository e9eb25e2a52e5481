import { OAuth2ResourceServerConfig, type OAuth2ResourceServerOptions } from '../index.js';
import {
  envReader,
  ExampleConfigError,
  integer,
  library,
  platform,
  type ExamplePlatform,
} from './example-config.js';

const DEFAULT_PORT = 3001;
/** The example issuer's address when it runs with its defaults (`npm start`). */
const DEFAULT_ISSUER = 'http://localhost:3000';

/**
 * The example resource server's settings, read once from the environment so that a bad value stops the start
 * with a message naming the variable: it holds no database and no key, only where the issuer is.
 */
export class ResourceExampleConfig {
  /** PORT. @default 3001 */
  readonly port: number;
  /** OAUTH2_ISSUER: the issuer whose tokens are accepted. @default http://localhost:3000 */
  readonly issuer: string;
  /**
   * OAUTH2_AUDIENCE: one value or a space-separated list; a token's `aud` must hold one.
   * @default the issuer (the example issuer's default audience)
   */
  readonly audience: string[];
  /** HTTP_PLATFORM: express or fastify. @default express */
  readonly platform: ExamplePlatform;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    const read = envReader(env);
    this.port = integer(read, 'PORT', 0, 65535) ?? DEFAULT_PORT;
    this.issuer = read('OAUTH2_ISSUER') ?? DEFAULT_ISSUER;
    const audience = read('OAUTH2_AUDIENCE')?.split(' ').filter(Boolean) ?? [this.issuer];
    if (audience.length === 0) {
      throw new ExampleConfigError('OAUTH2_AUDIENCE must hold at least one value');
    }
    this.audience = audience;
    this.platform = platform(read);
    // The module's own rules, checked now rather than when Nest builds the module.
    library(() => new OAuth2ResourceServerConfig(this.moduleOptions()), 'OAUTH2_ISSUER: ');
  }

  moduleOptions(): OAuth2ResourceServerOptions {
    return { issuer: this.issuer, audience: this.audience };
  }
}
