import { describe, expect, test } from '@jest/globals';
import { InMemoryOAuthClientRepository, OAuthClient } from '../index.js';
import { runCli } from './run-cli.js';

/** A row written by another tool: control characters the entity rules would refuse. */
const HOSTILE = OAuthClient.create({
  clientId: 'evil\x1b[2J',
  clientSecret: null,
  grantTypes: 'client_credentials\x07',
  scope: 'a\x1b]0;title\x07',
  userId: 'u\r\nInjected: yes',
  redirectUri: 'https://x/\x00',
});

/** Any control character but the line feeds that end lines. */
const CONTROL = /(?!\n)\p{Cc}/u;

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const repository = new InMemoryOAuthClientRepository([HOSTILE]);
  const code = await runCli(
    argv,
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: {} },
    { repository },
  );
  return { code, stdout, stderr };
}

describe('stored values on a terminal', () => {
  test.each([
    [['client', 'list']],
    [['client', 'show', HOSTILE.clientId]],
    [['client', 'delete', HOSTILE.clientId]],
  ])('%j: control characters become ?', async (argv) => {
    const result = await run(...argv);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    expect(result.stdout).toContain('evil?[2J');
    expect(result.stdout).not.toMatch(/^Injected/m);
  });

  test('show: one line per field, aligned', async () => {
    expect((await run('client', 'show', HOSTILE.clientId)).stdout).toBe(
      [
        'client_id:                   evil?[2J',
        'client_type:                 public',
        'token_endpoint_auth_method:  (none)',
        'grant_types:                 client_credentials?',
        'scope:                       a?]0;title?',
        "audience:                    (the server's)",
        "access_token_lifetime:       (the server's)",
        'user_id:                     u??Injected: yes',
        'jwks:                        -',
        'jwks_uri:                    -',
        'redirect_uri:                https://x/?',
        'disabled:                    no',
        '',
      ].join('\n'),
    );
  });

  test('--json keeps the values, escaped by JSON', async () => {
    const result = await run('client', 'show', HOSTILE.clientId, '--json');
    expect(result.stdout).not.toMatch(CONTROL);
    expect(JSON.parse(result.stdout)).toMatchObject({
      client_id: HOSTILE.clientId,
      user_id: HOSTILE.userId,
    });
  });
});
