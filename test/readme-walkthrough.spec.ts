import { describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from './support/build.js';

/**
 * README "From an empty folder to a protected API" shows the files of test/consumers/esm-nest12, the app that
 * test/consumers.e2e-spec.ts installs from `npm pack` and runs: each code block introduced by a line ending
 * in "`<file>`:" must equal that file, every file of the app must be shown, and the commands must install
 * and set what the app's package.json holds. The section cannot drift from what CI proves.
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
  const shown = new Map(
    blocks(section())
      .map((block) => [/`([^`]+)`:$/.exec(block.intro)?.[1], block.body] as const)
      .filter((entry): entry is [string, string] => entry[0] !== undefined),
  );

  test('shows every file of test/consumers/esm-nest12 (tsconfig.json and src/*.ts), named before its block', () => {
    expect([...shown.keys()].sort()).toEqual([...appFiles].sort());
  });

  test.each(appFiles)('its %s block equals the file', (file) => {
    expect(shown.get(file)).toBe(readFileSync(join(app, file), 'utf8'));
  });

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

  test('its `npm pkg set` line sets what the app has: "type": "module" and the build and start scripts', () => {
    const line = section()
      .split('\n')
      .find((text) => text.startsWith('npm pkg set '));
    expect(line).toBe(
      `npm pkg set type=${packageJson.type} scripts.build=${packageJson.scripts.build} ` +
        `scripts.start="${packageJson.scripts.start}"`,
    );
  });

  test('its steps are numbered 1, 2, 3, … in order (later steps append to the list)', () => {
    const numbers = [...section().matchAll(/^\*\*(\d+)\. /gm)].map((match) => Number(match[1]));
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });
});
