import type { CommandTable } from '../../src/cli/cli-args.js';

/** A table of made-up commands: the CLI's parser and usage text know only what a table tells them. */
export const TOY_TABLE: CommandTable = {
  program: 'toy',
  description: 'A toy. '.repeat(20).trim(),
  footer: 'Bye.',
  options: [{ name: 'verbose', short: 'v', description: 'Say more.' }],
  commands: [
    {
      words: ['greet'],
      positionals: [{ name: 'who', description: 'a name' }],
      options: [
        { name: 'lang', value: 'code', required: true, description: 'Language.' },
        { name: 'loud', conflicts: 'quiet', description: 'Shout.' },
        { name: 'quiet', description: 'Whisper.' },
        { name: 'style', value: 'css', description: 'Looks. '.repeat(15).trim() },
      ],
      description: 'Greet someone.',
    },
    { words: ['db', 'reset'], positionals: [], options: [], description: 'Reset.' },
    {
      words: ['db', 'seed'],
      positionals: [],
      options: [{ name: 'file', value: 'path', description: 'Seed file.' }],
      description: 'Seed.',
    },
  ],
};
