import { describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from './support/build.js';

/**
 * README "From an empty folder to a protected API" shows the files of test/consumers/esm-nest12, the app that
 * test/consumers.e2e-spec.ts installs from `npm pack` and runs: each code block introduced by a line ending
 * in "`<file>`:" must equal that file (the last such block, when a later step shows a file again with lines
 * added; an earlier one must then be the file minus those lines), every file of the app must be shown, and
 * the commands must install and set what the app's package.json holds. The section cannot drift from what CI proves.
 */
const app = join(repo, 'test/consumers/esm-nest12');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

function section(): string {
  const start = readme.indexOf('\n## From an empty folder to a protected API\n');
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

interface Block {
  lang: string;
  body: string;
  /** The last non-empty line before the fence. */
  intro: string;
}

function blocks(text: string): Block[] {
  const found: Block[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const before = text.slice(0, match.index).trimEnd().split('\n');
    found.push({ lang: match[1]!, body: match[2]!, intro: before[before.length - 1]! });
  }
  return found;
}

const appFiles = [
  'tsconfig.json',
  ...readdirSync(join(app, 'src'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `src/${name}`),
];
const packageJson = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
  type: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('README "From an empty folder to a protected API"', () => {
  /** Each file's blocks in the order shown: a later step may show a file again, changed (step 10's main.ts). */
  const shown = new Map<string, string[]>();
  for (const block of blocks(section())) {
    const file = /`([^`]+)`:$/.exec(block.intro)?.[1];
    if (file !== undefined) shown.set(file, [...(shown.get(file) ?? []), block.body]);
  }

  test('shows every file of test/consumers/esm-nest12 (tsconfig.json and src/*.ts), named before its block', () => {
    expect([...shown.keys()].sort()).toEqual([...appFiles].sort());
  });

  test.each(appFiles)('its last %s block equals the file', (file) => {
    expect(shown.get(file)!.at(-1)).toBe(readFileSync(join(app, file), 'utf8'));
  });

  test.each(appFiles.filter((file) => (shown.get(file)?.length ?? 0) > 1))(
    'an earlier %s block is the file without what later steps add',
    (file) => {
      const lines = readFileSync(join(app, file), 'utf8').split('\n');
      for (const earlier of shown.get(file)!.slice(0, -1)) {
        // Its lines appear in the file in the same order: nothing in it was removed or changed later.
        let at = 0;
        const missing = earlier.split('\n').filter((line) => {
          const found = lines.indexOf(line, at);
          if (found === -1) return true;
          at = found + 1;
          return false;
        });
        expect(missing).toEqual([]);
      }
    },
  );

  test('its npm install commands name exactly the packages the app depends on, and the package itself', () => {
    const installs = blocks(section())
      .filter((block) => block.lang === 'sh')
      .flatMap((block) => block.body.split('\n'))
      .filter((line) => line.startsWith('npm install '));
    // `name` or `name@major`: a major given must be the one the app pins.
    const words = (flag: boolean) =>
      installs
        .filter((line) => line.includes('--save-dev') === flag)
        .flatMap((line) => line.split(/\s+/).slice(2))
        .filter((word) => !word.startsWith('-'))
        .map((word) => /^(@?[^@]+)(?:@(\d+))?$/.exec(word)!.slice(1));
    const names = (flag: boolean) =>
      words(flag)
        .map(([name]) => name!)
        .sort();
    const pinned = { ...packageJson.dependencies, ...packageJson.devDependencies };
    const majors = [...words(false), ...words(true)].filter(([, major]) => major !== undefined);
    expect(majors.map(([name]) => `${name}@${pinned[name!]!.split('.')[0]}`)).toEqual(
      majors.map(([name, major]) => `${name}@${major}`),
    );
    expect(names(false)).toEqual(
      ['@nest-oauth2/server', ...Object.keys(packageJson.dependencies)].sort(),
    );
    expect(names(true)).toEqual(Object.keys(packageJson.devDependencies).sort());
  });

  test('its `npm pkg set` lines set what the app has: "type": "module" and the build, start and test scripts', () => {
    const lines = section()
      .split('\n')
      .filter((text) => text.startsWith('npm pkg set '));
    expect(lines).toEqual([
      `npm pkg set type=${packageJson.type} scripts.build=${packageJson.scripts.build} ` +
        `scripts.start="${packageJson.scripts.start}"`,
      `npm pkg set scripts.test="${packageJson.scripts.test}"`,
    ]);
    expect(Object.keys(packageJson.scripts).sort()).toEqual(['build', 'start', 'test']);
  });

  test('its steps are numbered 1, 2, 3, … in order (later steps append to the list)', () => {
    const numbers = [...section().matchAll(/^\*\*(\d+)\. /gm)].map((match) => Number(match[1]));
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });
});
