import type { INestApplication } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createExampleApp, type ExampleAppOptions } from '../../src/example/create-example-app.js';
import { freePort } from './http-server.js';
import { CapturingLogger } from './logger.js';

export interface RunningExample {
  app: INestApplication;
  logger: CapturingLogger;
  server: ReturnType<INestApplication['getHttpServer']>;
}

/** Builds the example app from `env` and listens on an ephemeral loopback port. */
export async function startExample(
  env: Record<string, string>,
  options: Omit<ExampleAppOptions, 'logger'>,
): Promise<RunningExample> {
  const logger = new CapturingLogger();
  const app = await createExampleApp({ PORT: '0', ...env }, { ...options, logger });
  await app.listen(0, '127.0.0.1');
  return { app, logger, server: app.getHttpServer() };
}

/** The built example app running as a process of its own. */
export interface ExampleProcess {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM (the app closes its connections), then SIGKILL if it is still running 5 s later. */
  stop(): Promise<void>;
}

const START_DEADLINE_MS = 30_000;

/**
 * Runs the built `main` (dist/example/main.js, or a consumer app's) with `env` and nothing else of this
 * process's environment but PATH, on `port` (a free one by default), and resolves once it prints `ready`;
 * rejects with its output if it exits first.
 */
export async function spawnExample(
  main: string,
  env: Record<string, string>,
  { cwd, port, ready = 'Listening on' }: { cwd: string; port?: number; ready?: string },
): Promise<ExampleProcess> {
  port ??= await freePort();
  const child = spawn(process.execPath, [main], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env, PORT: String(port) },
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} did not start in time:\n${output}`));
    }, START_DEADLINE_MS);
    const read = (chunk: Buffer) => {
      output += chunk;
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${main} exited (${child.exitCode ?? child.signalCode}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
