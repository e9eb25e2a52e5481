import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { buildFresh, repo, type FreshBuild } from './support/build.js';
import { tempDir } from './support/cli.js';
import { spawnExample, type ExampleProcess } from './support/example.js';
import { platforms } from './support/app.js';

/**
 * Swagger UI in a real browser: headless Chromium opens the built example app's /docs (on Express and on
 * Fastify), authorizes with the demo client through the UI's OAuth2 dialog (client credentials, RFC 6749
 * §4.4), calls GET /api/reports from "Try it out" and must see 200. Turned on by OAUTH2_TEST_CHROMIUM (the
 * browser's path, e.g. /usr/bin/chromium from Debian's `chromium` package); set but unable to start, it fails.
 */
const executablePath = process.env.OAUTH2_TEST_CHROMIUM || undefined;
const SCREENSHOTS = join(repo, 'reports/swagger-browser');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Each step waits this long at most for the UI; the whole flow is well under the suite's timeout. */
const STEP_MS = 15_000;

(executablePath ? describe : describe.skip)(
  'Swagger UI authorizes and calls a guarded route in Chromium (set OAUTH2_TEST_CHROMIUM=/usr/bin/chromium to run)',
  () => {
    let build: FreshBuild;
    let browser: Browser;
    const cwd = tempDir('oauth2-swagger-browser-');

    beforeAll(async () => {
      // The browser first: one that cannot start fails the suite before a build is made.
      browser = await chromium
        .launch({ executablePath, args: CHROMIUM_ARGS })
        .catch((error: unknown) => {
          throw new Error(
            `OAUTH2_TEST_CHROMIUM is set but Chromium (${executablePath}) cannot start: ${
              (error as Error).message
            }`,
            { cause: error },
          );
        });
      build = await buildFresh('.tmp-swagger-build-');
      mkdirSync(SCREENSHOTS, { recursive: true });
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      build?.remove();
      cwd.remove();
    });

    describe.each(platforms)('on %s', (platform) => {
      let example: ExampleProcess;
      beforeAll(async () => {
        example = await spawnExample(
          join(build.outDir, 'example/main.js'),
          { DATABASE_URL: 'sqlite::memory:', HTTP_PLATFORM: platform },
          { cwd: cwd.path },
        );
      }, 60_000);
      afterAll(() => example?.stop());

      test('Authorize with testclient/testpass, then GET /api/reports → 200', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.setDefaultTimeout(STEP_MS);
        const screenshot = join(SCREENSHOTS, `${platform}.png`);
        try {
          await page.goto(`${example.url}/docs`);
          await page.locator('.scheme-container button.authorize').click();

          const dialog = page.locator('.modal-ux');
          await dialog.getByLabel('client_id:').fill('testclient');
          await dialog.getByLabel('client_secret:').fill('testpass');
          const tokenResponse = page.waitForResponse((res) => res.url().endsWith('/oauth2/token'));
          await dialog.locator('.auth-btn-wrapper button.authorize').click();
          const token = await tokenResponse;
          expect(token.status()).toBe(200);
          // client_secret_basic (RFC 6749 §2.3.1), the way Swagger UI sends a client credentials request.
          expect(await token.request().headerValue('authorization')).toBe(
            `Basic ${Buffer.from('testclient:testpass').toString('base64')}`,
          );
          // Swagger UI shows a Logout button once it holds the token.
          await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor();
          await dialog.locator('.auth-btn-wrapper button.btn-done').click();

          const operation = page.locator('.opblock-get', {
            has: page.locator('[data-path="/api/reports"]'),
          });
          await operation.locator('.opblock-summary').first().click();
          await operation.getByRole('button', { name: 'Try it out' }).click();
          const apiResponse = page.waitForResponse((res) => res.url().endsWith('/api/reports'));
          await operation.getByRole('button', { name: 'Execute' }).click();
          const res = await apiResponse;
          expect(res.status()).toBe(200);
          expect(await res.request().headerValue('authorization')).toMatch(/^Bearer [\w-]+\./);

          const status = operation
            .locator('.live-responses-table tbody td.response-col_status')
            .first();
          await status.waitFor();
          expect((await status.innerText()).trim()).toBe('200');
        } finally {
          await page.screenshot({ path: screenshot, fullPage: true });
          console.log(`Swagger UI screenshot (${platform}): ${screenshot}`);
          await context.close();
        }
      }, 60_000);
    });
  },
);
