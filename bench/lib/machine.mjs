// What the results were measured on, written next to them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function run(command, args) {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

function versionOf(name) {
  try {
    // Read the installed package.json directly: not every package exports it.
    const path = require
      .resolve(name)
      .replace(/(.*node_modules\/(?:@[^/]+\/)?[^/]+)\/.*/, '$1/package.json');
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return undefined;
  }
}

export function describeMachine() {
  const dirty = run('git', ['status', '--porcelain', '--', 'src']);
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    srcUncommittedChanges: dirty === undefined ? undefined : dirty !== '',
    versions: Object.fromEntries(
      [
        '@nestjs/core',
        '@nestjs/platform-fastify',
        '@nestjs/platform-express',
        'fastify',
        'express',
        '@nestjs/jwt',
        'typeorm',
        'better-sqlite3',
        'autocannon',
        'oidc-provider',
        '@jmondi/oauth2-server',
      ].map((name) => [name, versionOf(name)]),
    ),
  };
}
