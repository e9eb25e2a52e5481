// The load generator: a long-lived child of bench/run.mjs, pinned to its own core, that runs autocannon jobs sent
// over IPC. A job is one or more concurrent streams (a flood and a legitimate client run side by side) and,
// optionally, probes: single requests from other clients sent at intervals during the job. Latency is recorded
// here per response with microsecond resolution (autocannon's own histogram keeps whole milliseconds). A stream
// or probe with a `localAddress` is sent from that loopback source address (127.0.0.2, …) so the server sees
// distinct remote addresses; autocannon cannot bind one, so such a stream runs on node:http instead.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { cpuSince, cpuSnapshot } from './cpu.mjs';
import { clientAssertionBodies } from './keys.mjs';

class Samples {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.length = 0;
  }
  add(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  percentile(p) {
    if (this.length === 0) return undefined;
    const sorted = this.values.subarray(0, this.length).sort();
    return sorted[Math.min(this.length - 1, Math.floor((p / 100) * this.length))];
  }
}

/** The Basic header of a different wrong secret each call, for one client id. */
function wrongSecrets(clientId) {
  const prefix = `${clientId}:wrong-${process.pid}-`;
  let counter = 0;
  return () => 'Basic ' + Buffer.from(prefix + counter++).toString('base64');
}

/** Where each rotating stream (by name) is in its list of credentials. */
const cursors = new Map();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A stream from a bound source address on node:http: `connections` keep-alive sockets, each sending its next
 * request when the last is answered, or paced to `overallRate` in all.
 */
async function runHttpStream(stream, duration) {
  const latencies = new Samples();
  const statuses = {};
  let errors = 0;
  let timeouts = 0;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: stream.connections,
    localAddress: stream.localAddress,
  });
  const nextAuthorization = stream.wrongSecretFor ? wrongSecrets(stream.wrongSecretFor) : undefined;
  const started = performance.now();
  const end = started + duration * 1000;
  const interval = stream.overallRate ? (1000 * stream.connections) / stream.overallRate : 0;
  const send = () =>
    new Promise((resolve) => {
      const headers = { ...stream.headers };
      if (nextAuthorization) headers.authorization = nextAuthorization();
      const sent = performance.now();
      const req = request(
        stream.url,
        { method: stream.method ?? 'GET', headers, agent, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode >= 200 && res.statusCode < 300) {
              latencies.add(performance.now() - sent);
            }
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', (error) => {
        if (error.message !== 'timeout') errors++;
        resolve();
      });
      req.end(stream.body);
    });
  const connection = async (index) => {
    // Paced connections start staggered, so the rate is even rather than in bursts.
    let due = started + (interval * index) / stream.connections;
    while (performance.now() < end) {
      if (interval) {
        await sleep(Math.max(0, due - performance.now()));
        if (performance.now() >= end) break;
        due += interval;
      }
      await send();
    }
  };
  await Promise.all(Array.from({ length: stream.connections }, (_, i) => connection(i)));
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  const ok = Object.entries(statuses)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    name: stream.name,
    seconds,
    responses: Object.values(statuses).reduce((a, b) => a + b, 0),
    ok,
    okPerSecond: ok / seconds,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    statuses,
    errors,
    timeouts,
  };
}

function runStream(stream, duration) {
  if (stream.localAddress) return runHttpStream(stream, duration);
  const latencies = new Samples();
  const statuses = {};
  const options = {
    url: stream.url,
    method: stream.method ?? 'GET',
    headers: stream.headers ?? {},
    body: stream.body,
    connections: stream.connections,
    duration,
    pipelining: 1,
    timeout: 10,
    // autocannon sends until the first sample tick past `duration` (1 s apart by default): a 0.25 s job
    // would last a second. Ticks every 250 ms keep each job within 250 ms of its duration.
    sampleInt: 250,
    ...(stream.overallRate ? { overallRate: stream.overallRate } : {}),
  };
  if (stream.authorizations) {
    // Credentials in turn, one per request, the turn carried over from the stream's earlier jobs (its warm-up):
    // each of a pool of N tokens comes back only after the N - 1 others.
    const { authorizations } = stream;
    const cursor = cursors.get(stream.name) ?? { next: 0 };
    cursors.set(stream.name, cursor);
    options.requests = [
      {
        setupRequest(req) {
          const authorization = authorizations[cursor.next++ % authorizations.length];
          return { ...req, headers: { ...req.headers, authorization } };
        },
      },
    ];
  } else if (stream.clientAssertion) {
    // private_key_jwt: every request a new assertion, signed here (a replayed one would be refused).
    const nextBody = clientAssertionBodies(stream.clientAssertion);
    options.requests = [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }];
  } else if (stream.wrongSecretFor) {
    // Every request a different wrong secret for the same client: nothing can cache its way out of the KDF.
    const nextAuthorization = wrongSecrets(stream.wrongSecretFor);
    options.requests = [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, authorization: nextAuthorization() },
        }),
      },
    ];
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      if (error) return reject(error);
      const ok = Object.entries(statuses)
        .filter(([code]) => code.startsWith('2'))
        .reduce((sum, [, n]) => sum + n, 0);
      const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
      resolve({
        name: stream.name,
        seconds: result.duration,
        responses,
        ok,
        okPerSecond: ok / result.duration,
        p50: latencies.percentile(50),
        p99: latencies.percentile(99),
        statuses,
        errors: result.errors,
        timeouts: result.timeouts,
      });
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) latencies.add(responseTime);
    });
  });
}

function probeOnce({ url, headers, body, localAddress }) {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const options = { method: 'POST', headers, agent: false, localAddress, timeout: 15_000 };
    const req = request(url, options, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          retryAfter: res.headers['retry-after'],
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, error: error.message }));
    req.end(body);
  });
}

async function runProbes(probes, signal) {
  const results = [];
  await new Promise((resolve) => setTimeout(resolve, probes.startDelayMs ?? 1000));
  for (const probe of probes.requests) {
    if (signal.stopped) break;
    results.push({ name: probe.name, ...(await probeOnce(probe)) });
    await new Promise((resolve) => setTimeout(resolve, probes.intervalMs ?? 1000));
  }
  return results;
}

async function runJob(job) {
  const pids = { server: job.serverPid, load: process.pid, bench: process.ppid };
  const before = cpuSnapshot(pids);
  const signal = { stopped: false };
  const probing = job.probes ? runProbes(job.probes, signal) : Promise.resolve(undefined);
  const streams = await Promise.all(job.streams.map((stream) => runStream(stream, job.duration)));
  // A job of probes alone (a sequential timing series) lasts as long as its probes.
  if (!job.streams.length) await probing;
  signal.stopped = true;
  const cpu = cpuSince(before, pids);
  return { streams, probes: await probing, cpu };
}

process.on('message', (job) => {
  runJob(job).then(
    (result) => process.send({ id: job.id, result }),
    (error) => process.send({ id: job.id, error: error?.stack ?? String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
