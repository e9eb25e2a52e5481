// Where a server's CPU went, from the profiles BENCH_PROFILE=1 writes: for each profile, the share of its busy
// samples (idle and program time left out) whose stack passes through the audit event sink, our metrics, the
// OpenTelemetry SDK, Nest's ConsoleLogger, or nestjs-pino and pino; and the sink's own part, the samples in the
// sink but in no logger (Nest's Logger, ConsoleLogger, pino). A share of the server's main thread, so other work
// on the machine does not skew it the way it skews throughput. pino's writes (sonic-boom, asynchronous) run in
// libuv's thread pool, which no profile of the main thread sees: their CPU is in the bench's `srv µs/req`.
//
//   node bench/profile-share.mjs [bench/results/profiles]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProfiles } from './lib/profiles.mjs';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'results/profiles');
const PINO =
  /\/node_modules\/(nestjs-pino|pino|pino-http|pino-std-serializers|sonic-boom|quick-format-unescaped|safe-stable-stringify)\//;
/** A logger, Nest's or pino: what is not the sink's own work when the sink calls it. */
const LOGGER = [/\/@nestjs\/common\/services\/(console-)?logger\.service\.js/, PINO];
const PARTS = {
  'event sink': /\/observability\/default-event\.sink\.js/,
  'Nest ConsoleLogger': /\/console-logger\.service\.js/,
  'nestjs-pino + pino': PINO,
  'our metrics': /\/observability\/metrics\.js/,
  OpenTelemetry: /\/@opentelemetry\//,
};

for (const { file, profile, nodes, parents } of readProfiles(dir)) {
  let busy = 0;
  let any = 0;
  const shares = Object.fromEntries(Object.keys(PARTS).map((part) => [part, 0]));
  let sinkOwn = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const leaf = nodes.get(id).callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(program)') return;
    busy += micros;
    const urls = [];
    for (let at = id; at !== undefined; at = parents.get(at))
      urls.push(nodes.get(at).callFrame.url);
    let hit = false;
    for (const [part, pattern] of Object.entries(PARTS)) {
      if (urls.some((url) => pattern.test(url))) {
        shares[part] += micros;
        hit = true;
      }
    }
    if (hit) any += micros;
    if (
      urls.some((url) => PARTS['event sink'].test(url)) &&
      !urls.some((url) => LOGGER.some((pattern) => pattern.test(url)))
    )
      sinkOwn += micros;
  });
  const pct = (micros) => `${((100 * micros) / Math.max(1, busy)).toFixed(2)}%`;
  console.log(
    `${file}: busy ${(busy / 1e6).toFixed(1)} s; ` +
      Object.entries(shares)
        .map(([part, micros]) => `${part} ${pct(micros)}`)
        .join(', ') +
      `; any of these ${pct(any)}; event sink outside any logger ${pct(sinkOwn)}`,
  );
}
