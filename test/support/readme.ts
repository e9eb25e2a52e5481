import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from './build.js';

/** The text of a README section, from its heading to the next heading of its level or above. */
export function readmeSection(heading: string): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const level = /^#+/.exec(heading)![0].length;
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section ${heading}`);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The fenced code blocks of one language in a piece of Markdown, in order. */
export function codeBlocks(markdown: string, language: string): string[] {
  const fence = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...markdown.matchAll(fence)].map((match) => match[1]);
}
