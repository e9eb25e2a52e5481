import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository's root. */
export const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface FreshBuild {
  /** Where dist/ would be: `<outDir>/cli/main.cjs`, `<outDir>/example/main.js`. */
  outDir: string;
  remove(): void;
}

/**
 * The package built from src as `npm run build` builds it, into a folder of its own inside the repository (so
 * the ESM build resolves its packages from node_modules): a stale dist/ neither hides a failure nor fakes a
 * pass. Rejects with tsc's output when it fails.
 */
export async function buildFresh(prefix: string): Promise<FreshBuild> {
  const outDir = mkdtempSync(join(repo, prefix));
  const remove = () => rmSync(outDir, { recursive: true, force: true });
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const args = [
    '-p',
    join(repo, 'tsconfig.build.json'),
    '--outDir',
    outDir,
    '--incremental',
    'false',
  ];
  try {
    await promisify(execFile)(process.execPath, [tsc, ...args], { cwd: repo });
  } catch (error) {
    remove();
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed:\n${stdout}${stderr}`);
  }
  return { outDir, remove };
}
