// The functions a server spent its CPU in, from the profiles BENCH_PROFILE=1 writes: for each profile, the
// functions with the most self time, as a share of the busy samples (idle, program and module loading left
// out, GC shown as its own row). A share of the main thread's busy time, so other work on the machine skews it far less than
// it skews throughput. Functions are named with their package (or our file) so that one name in two places
// stays two rows.
//
//   node bench/profile-top.mjs [bench/results/profiles] [--top 15] [--only <regex on the file name>]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProfiles } from './lib/profiles.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return value;
};
const top = Number(option('--top', 15));
const only = option('--only', undefined);
const dir = args[0] ?? join(dirname(fileURLToPath(import.meta.url)), 'results/profiles');

/** Where a function lives: its npm package, our compiled file, or Node's own module. */
function placeOf(url) {
  if (!url) return '';
  const packaged = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packaged) return packaged[1];
  const ours = /\/dist\/(.+)\.js$/.exec(url);
  if (ours) return `ours ${ours[1]}`;
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
}

const IDLE = new Set(['(idle)', '(program)']);
/** Start-up: loading modules and building the app, which no request pays for. */
const STARTUP = /\/modules\/(cjs|esm)\/|node:internal\/modules\//;

for (const { file, profile, nodes, parents } of readProfiles(
  dir,
  (name) => !only || new RegExp(only).test(name),
)) {
  const startup = new Map();
  const inStartup = (id) => {
    if (!startup.has(id)) {
      const { url } = nodes.get(id).callFrame;
      const parent = parents.get(id);
      startup.set(id, STARTUP.test(url) || (parent !== undefined && inStartup(parent)));
    }
    return startup.get(id);
  };
  const self = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const { functionName, url } = nodes.get(id).callFrame;
    if (IDLE.has(functionName) || inStartup(id)) return;
    busy += micros;
    const name = `${functionName || '(anonymous)'}  [${placeOf(url) || 'native'}]`;
    self.set(name, (self.get(name) ?? 0) + micros);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\n${file}: ${(busy / 1e6).toFixed(1)} s busy`);
  console.log('| self % | function [where] |\n| ---: | --- |');
  for (const [name, micros] of rows) {
    console.log(`| ${((100 * micros) / busy).toFixed(1)} | \`${name.replace(/\|/g, '\\|')}\` |`);
  }
}
