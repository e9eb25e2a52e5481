// Reading the CPU profiles BENCH_PROFILE=1 writes (Chrome's .cpuprofile format), for the scripts that sum them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Each profile of `dir` whose file name passes `keep`, in name order: its file name, its nodes by id, each
 * node's parent id, and the profile itself (`samples`, `timeDeltas`).
 */
export function* readProfiles(dir, keep = () => true) {
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile') && keep(name))
    .sort()) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map();
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) parents.set(child, node.id);
    }
    yield { file, profile, nodes, parents };
  }
}
