import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

/**
 * The layering of src/ (README "Architecture"): each folder may import only the folders below it, so no two
 * folders can ever import each other in a circle. Listed bottom-up: a folder's forbidden imports are every
 * folder above it.
 */
const LAYERS = [
  ['http', 'errors', 'storage', 'state', 'observability'],
  ['clients', 'keys'],
  ['migrations', 'oauth2.constants', 'oauth2-options.interface', 'oauth2-config'],
  ['client-auth', 'resource'],
  ['token', 'resource-server', 'redis'],
  ['health'],
  ['oauth2.providers', 'oauth2.startup-log', 'oauth2.module-definition', 'oauth2.module', 'index'],
  // The `@nest-oauth2/server/testing` and `/swagger` subpaths: above everything they read, never imported by it.
  ['testing', 'swagger'],
  ['cli'],
  ['example'],
];
const isFolder = (name) => !name.startsWith('oauth2') && name !== 'index';
const patternsOf = (name) =>
  isFolder(name)
    ? [`../${name}/*`, `./${name}/*`, `../../${name}/*`]
    : [`../${name}.js`, `./${name}.js`];

const layering = LAYERS.flatMap((layer, level) => {
  const above = LAYERS.slice(level + 1).flat();
  const peers = layer.filter(isFolder);
  const forbidden = (name) =>
    [...above, ...peers.filter((peer) => peer !== name)].flatMap(patternsOf);
  return layer
    .filter((name) => forbidden(name).length > 0)
    .map((name) => ({
      files: isFolder(name) ? [`src/${name}/**/*.ts`] : [`src/${name}.ts`],
      ignores: ['**/*.spec.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: forbidden(name),
                message: `src/${name} imports only what lies below it in the layering (README "Architecture").`,
              },
            ],
          },
        ],
      },
    }));
});

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'data/',
      'coverage/',
      'reports/',
      '.stryker-tmp/',
      '.tmp-*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-console': ['error'],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import `./x.js` that resolves to `./x.ts` (NodeNext).
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  ...layering,
  {
    files: ['src/cli/**', 'src/example/**', 'bench/**', 'test/**', '*.js'],
    rules: { 'no-console': 'off' },
  },
  {
    // A focused, skipped or assertion-free test passes while testing nothing: each fails lint.
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    ...jest.configs['flat/recommended'],
    // Given, not detected: no-deprecated-functions would otherwise need jest's package.json at lint time.
    settings: { jest: { version: 30 } },
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/no-conditional-expect': 'error',
      'jest/valid-expect': 'error',
      // A hook may check its own setup (a migrate that must succeed) before the tests rely on it.
      'jest/no-standalone-expect': [
        'error',
        { additionalTestBlockFunctions: ['beforeAll', 'beforeEach', 'afterEach', 'afterAll'] },
      ],
      'jest/expect-expect': [
        'error',
        // The repo's own assertion helpers (expectTokenError, expectInvalidClient, …) and supertest's expect().
        { assertFunctionNames: ['expect', 'expect*', 'request.**.expect'] },
      ],
    },
  },
  {
    // The benchmark is plain ESM JavaScript run by Node: its globals are Node's.
    files: ['bench/**/*.mjs'],
    languageOptions: {
      globals: {
        Buffer: 'readonly',
        URLSearchParams: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
