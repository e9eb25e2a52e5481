import { describe, expect, test } from '@jest/globals';
import { ExampleConfigError } from './example-config.js';
import { ResourceExampleConfig } from './resource-example-config.js';
import { thrownAs } from '../../test/support/thrown.js';

describe('ResourceExampleConfig', () => {
  test('defaults: port 3001, the example issuer, its issuer as the audience', () => {
    expect({ ...new ResourceExampleConfig({}) }).toEqual({
      port: 3001,
      issuer: 'http://localhost:3000',
      audience: ['http://localhost:3000'],
      platform: 'express',
    });
  });

  test('every variable is read; the audience is a space-separated list', () => {
    const config = new ResourceExampleConfig({
      PORT: '8081',
      OAUTH2_ISSUER: 'https://auth.example.com',
      OAUTH2_AUDIENCE: ' https://api.example.com  reports ',
      HTTP_PLATFORM: 'FASTIFY',
    });
    expect({ ...config }).toEqual({
      port: 8081,
      issuer: 'https://auth.example.com',
      audience: ['https://api.example.com', 'reports'],
      platform: 'fastify',
    });
    expect(config.moduleOptions()).toEqual({
      issuer: 'https://auth.example.com',
      audience: ['https://api.example.com', 'reports'],
    });
  });

  test('the audience follows the issuer; empty variables count as unset', () => {
    const config = new ResourceExampleConfig({
      OAUTH2_ISSUER: 'https://auth.example.com/tenant',
      OAUTH2_AUDIENCE: '',
      PORT: '',
    });
    expect(config.audience).toEqual(['https://auth.example.com/tenant']);
    expect(config.port).toBe(3001);
  });

  test.each([
    [{ PORT: 'x' }, "PORT must be a whole number from 0 to 65535, not 'x'"],
    [{ OAUTH2_AUDIENCE: '   ' }, 'OAUTH2_AUDIENCE must hold at least one value'],
    [{ HTTP_PLATFORM: 'koa' }, "HTTP_PLATFORM must be express or fastify, not 'koa'"],
    [
      { OAUTH2_ISSUER: 'auth.example.com' },
      'OAUTH2_ISSUER: OAuth2ResourceServerModule: `issuer` must be an absolute https:// (or http://) URL',
    ],
    [
      { OAUTH2_ISSUER: 'https://auth.example.com/?x=1' },
      'OAUTH2_ISSUER: OAuth2ResourceServerModule: `issuer` must have no query or fragment',
    ],
  ])('%j is refused', (env, message) => {
    const error = thrownAs(ExampleConfigError, () => new ResourceExampleConfig(env));
    expect(error.message).toContain(message);
  });
});
