import { expect, jest, test } from '@jest/globals';

// The host app does not have the optional peer: importing it fails as Node's resolver would.
jest.unstable_mockModule('@opentelemetry/api', () => {
  throw Object.assign(new Error("Cannot find package '@opentelemetry/api'"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
});

test('without @opentelemetry/api the package loads and its metrics are the no-op base class', async () => {
  await expect(import('@opentelemetry/api')).rejects.toThrow('Cannot find package');
  const { createOAuth2Metrics, OAuth2Metrics } = await import('./metrics.js');
  const metrics = await createOAuth2Metrics();
  expect(metrics.constructor).toBe(OAuth2Metrics);
  metrics.verification('local', 'valid');
  metrics.tokenRequest('issued');
  // The whole public surface loads too (no top-level import of the peer anywhere).
  const index = await import('../index.js');
  expect(index.OAuth2Metrics).toBe(OAuth2Metrics);
});
