#!/usr/bin/env node
/*
 * The `nest-oauth2` binary. CommonJS on purpose: libuv sizes its thread pool, where scrypt runs, from
 * UV_THREADPOOL_SIZE once, at its first use, and loading an ES module entry already uses it. A CommonJS entry
 * is read synchronously, so the size set here takes effect: one thread per core (libuv's default is 4), so
 * that `client hash-legacy-secrets` hashes on every core. A value set by the caller is kept.
 */
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ||= String(availableParallelism());
void import('./run-process.js');
