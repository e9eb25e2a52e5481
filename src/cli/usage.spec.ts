import { describe, expect, test } from '@jest/globals';
import { TOY_TABLE } from '../../test/support/toy-table.js';
import { optionLabel } from './cli-args.js';
import { CLI } from './commands.js';
import { usageText } from './usage.js';

describe('usageText', () => {
  test('a synopsis per command, its options below it, the common options, all in one column', () => {
    expect(usageText(TOY_TABLE)).toBe(
      [
        'Usage: toy <command> [options]',
        '',
        'A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A toy. A',
        'toy. A toy. A toy. A toy. A toy. A toy.',
        '',
        'Commands:',
        '  greet <who> --lang <code> [--loud | --quiet] [--style <css>]',
        '                           Greet someone.',
        '    --lang <code>          Language.',
        '    --loud                 Shout.',
        '    --quiet                Whisper.',
        '    --style <css>          Looks. Looks. Looks. Looks. Looks. Looks. Looks. Looks. Looks. Looks.',
        '                           Looks. Looks. Looks. Looks. Looks.',
        '  db reset                 Reset.',
        '  db seed [--file <path>]  Seed.',
        '    --file <path>          Seed file.',
        '',
        'Options:',
        '  -v, --verbose            Say more.',
        '  -h, --help               Show this help.',
        '',
        'Bye.',
        '',
      ].join('\n'),
    );
  });

  test('every command and option of the CLI is in its usage text, no line wider than 100', () => {
    const text = usageText(CLI);
    const lines = text.split('\n');
    for (const command of CLI.commands) {
      expect(lines.some((line) => line.startsWith(`  ${command.words.join(' ')}`))).toBe(true);
      for (const option of [...command.options, ...CLI.options]) {
        expect(text).toContain(optionLabel(option));
        expect(text.replace(/\n +/g, ' ')).toContain(option.description);
      }
    }
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(100);
  });
});
