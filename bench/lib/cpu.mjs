// CPU accounting from /proc, to tell who was busy during a measurement: the server (is it saturated, or is the
// load generator the limit?), the load generator, and anything else on the machine (other jobs, steal).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a process (all its threads), in seconds; undefined when unreadable. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields count from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Machine-wide busy and steal time, in seconds of one CPU. */
export function systemCpuSeconds() {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
    const ticks = clockTicks();
    return {
      busy: (user + nice + system + irq + softirq) / ticks,
      steal: (steal ?? 0) / ticks,
      idle: (idle + iowait) / ticks,
    };
  } catch {
    return undefined;
  }
}

/** A snapshot to diff later: `sample()` then `since(snapshot)`. */
export function cpuSnapshot(pids) {
  return {
    at: process.hrtime.bigint(),
    pids: Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]),
    ),
    system: systemCpuSeconds(),
  };
}

/** Percent of one core each named process used since the snapshot, and what the rest of the machine used. */
export function cpuSince(snapshot, pids) {
  const now = cpuSnapshot(pids);
  const seconds = Number(now.at - snapshot.at) / 1e9;
  const percent = (delta) =>
    delta === undefined || Number.isNaN(delta) ? undefined : (100 * delta) / seconds;
  const result = {};
  let accounted = 0;
  for (const name of Object.keys(pids)) {
    const delta = now.pids[name] - snapshot.pids[name];
    result[name] = percent(delta);
    if (!Number.isNaN(delta)) accounted += delta;
  }
  if (now.system && snapshot.system) {
    result.other = percent(Math.max(0, now.system.busy - snapshot.system.busy - accounted));
    result.steal = percent(now.system.steal - snapshot.system.steal);
  }
  return result;
}
