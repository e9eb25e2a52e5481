// Child processes of the bench: each server under test and the load generator run in their own process, pinned
// to their own core with taskset when the machine has two or more, so neither takes CPU from the other
// mid-measurement. Without taskset (or on one core) they run unpinned and the report says so.
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

let taskset;
function hasTaskset() {
  if (taskset === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      taskset = true;
    } catch {
      taskset = false;
    }
  }
  return taskset;
}

export const CORES = { load: 0, server: 1 };

/** Whether processes can be pinned; when so, also pins this process (the idle orchestrator) to the load core. */
export function setUpPinning() {
  const pinned = availableParallelism() >= 2 && hasTaskset();
  if (pinned) {
    execFileSync('taskset', ['-a', '-p', '-c', String(CORES.load), String(process.pid)], {
      stdio: 'ignore',
    });
  }
  return pinned;
}

/**
 * Spawns `node [execArgv] script [args]` with an IPC channel, pinned to `core` when `pinned`; its stdout is
 * ours (`inherit`), dropped (`quiet`), or a pipe (`stdout: 'pipe'`) the caller must drain.
 */
export function spawnNode(
  script,
  { args = [], execArgv = [], env = {}, core, pinned, quiet = false, stdout = 'inherit' },
) {
  const nodeArgs = [...execArgv, script, ...args];
  const [command, commandArgs] = pinned
    ? ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = spawn(command, commandArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'ignore' : stdout, 'pipe', 'ipc'],
  });
  child.stderrText = '';
  child.stderr.on('data', (chunk) => {
    child.stderrText = (child.stderrText + chunk).slice(-8000);
  });
  return child;
}

/** The first IPC message of `type` from the child, or a rejection naming what the child said on stderr. */
export function nextMessage(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`no ${type} message within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message) => message?.type === type && finish(undefined, message);
    const onExit = (code) => finish(new Error(`exited with code ${code} before ${type}`));
    function finish(error, message) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) {
        error.message += child.stderrText ? `\n--- child stderr ---\n${child.stderrText}` : '';
        reject(error);
      } else {
        resolve(message);
      }
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Asks a server to stop, and kills it if it has not exited within a few seconds. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    child.send({ cmd: 'stop' });
  } catch {
    // The channel is already closed: the kill below ends it.
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
