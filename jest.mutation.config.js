import base from './jest.config.js';

/**
 * The unit specs StrykerJS runs against each mutant (`npm run mutation`): the folders whose rules are RFC or
 * security rules. e2e suites are left out: they boot apps and databases, too slow to run per mutant.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  roots: ['<rootDir>/src'],
  testRegex: 'src/(http|errors|clients|client-auth|token|resource)/.*\\.spec\\.ts$',
  transform: {
    // A mutant that does not type-check is a failed compile, not a killed mutant: skip type diagnostics.
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
};
