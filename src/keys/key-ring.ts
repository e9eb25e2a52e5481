import type { SigningKeySet } from './signing-key-set.js';

/**
 * The signing keys in force, read on every issue and every verification: fixed by configuration, or
 * refreshed from a key store. The DI token: provide your own to take keys from elsewhere.
 */
export abstract class OAuth2KeyRing {
  abstract readonly current: SigningKeySet;
}

/** Keys given in the module options (`signing`): they change with a deployment. */
export class StaticKeyRing extends OAuth2KeyRing {
  constructor(readonly current: SigningKeySet) {
    super();
  }
}
