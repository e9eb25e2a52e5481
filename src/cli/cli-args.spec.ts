import { describe, expect, test } from '@jest/globals';
import { TOY_TABLE } from '../../test/support/toy-table.js';
import { parseCommandLine, type CommandTable } from './cli-args.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';

const TOY = TOY_TABLE;

const parse = (...argv: string[]) => parseCommandLine(argv, TOY);

function usageError(argv: string[]): string {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(USAGE_EXIT_CODE);
    return (error as CliError).message;
  }
  throw new Error(`${JSON.stringify(argv)} was accepted`);
}

describe('parseCommandLine', () => {
  test('finds the command by its words and reads its options and positionals by name', () => {
    const parsed = parse('greet', '--lang', 'fr', 'ana', '-v');
    expect(parsed).toEqual({
      command: TOY.commands[0],
      options: { verbose: true, lang: 'fr', loud: false, quiet: false, style: undefined },
      positionals: { who: 'ana' },
    });
  });

  test('a two-word command; an option value that looks like a command word stays a value', () => {
    expect(parse('db', 'seed', '--file', 'reset')).toMatchObject({
      command: TOY.commands[2],
      options: { file: 'reset', verbose: false },
      positionals: {},
    });
    expect(parse('db', 'seed', '--file=-x.sql')).toMatchObject({ options: { file: '-x.sql' } });
  });

  test('a positional that starts with a dash goes after --', () => {
    expect(parse('greet', '--lang', 'en', '--', '-x')).toMatchObject({
      positionals: { who: '-x' },
    });
  });

  test.each([[['-h']], [['greet', '--help']], [['nope', '-h']], [['db', '--help']]])(
    '%j asks for help',
    (argv) => {
      expect(parse(...argv)).toBe('help');
    },
  );

  test.each([
    [[], 'missing command (greet, db)'],
    [['hello'], "unknown command 'hello'"],
    [['db'], "missing 'db' command (reset, seed)"],
    [['db', 'drop'], "unknown command 'db drop'"],
    [['db', 'reset', '--file', 'x'], "unknown option '--file' for 'db reset'"],
    [['greet', 'ana'], "'greet' needs --lang <code>"],
    [['greet', '--lang', 'en'], "'greet' needs a name"],
    [['greet', '--lang', 'en', 'a', 'b'], "unexpected argument 'b' for 'greet'"],
    [['greet', '--lang', 'en', '--lang', 'fr', 'a'], "option '--lang' is given more than once"],
    [['greet', '--lang'], "option '--lang' needs a value"],
    [['greet', 'a', '--lang', '-v'], "option '--lang' needs a value (write --lang=<value>"],
    [['greet', 'a', '--lang', 'en', '--loud=yes'], "option '--loud' takes no value"],
    [['greet', 'a', '--lang', 'en', '--loud', '--quiet'], '--loud and --quiet cannot be used'],
    [['db', '--file', 'seed'], "the options of 'db seed' go after its name"],
  ])('%j: %s', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});

describe('commands of three words, options of several conflicts', () => {
  const TABLE: CommandTable = {
    ...TOY,
    commands: [
      ...TOY.commands,
      {
        words: ['db', 'user', 'add'],
        positionals: [{ name: 'name', description: 'a user name' }],
        options: [
          { name: 'a', conflicts: ['b', 'c'], description: 'A.' },
          { name: 'b', description: 'B.' },
          { name: 'c', description: 'C.' },
        ],
        description: 'Add.',
      },
      { words: ['db', 'user', 'drop'], positionals: [], options: [], description: 'Drop.' },
    ],
  };
  const error = (...argv: string[]) => {
    try {
      parseCommandLine(argv, TABLE);
    } catch (thrown) {
      return (thrown as CliError).message;
    }
    throw new Error('accepted');
  };

  test('the words are matched one by one', () => {
    expect(parseCommandLine(['db', 'user', 'add', 'ana', '--b'], TABLE)).toMatchObject({
      command: TABLE.commands[3],
      options: { a: false, b: true, c: false },
      positionals: { name: 'ana' },
    });
    expect(error('db')).toBe("missing 'db' command (reset, seed, user)");
    expect(error('db', 'user')).toBe("missing 'db user' command (add, drop)");
    expect(error('db', 'user', 'edit')).toBe("unknown command 'db user edit'");
    expect(error('db', 'user', 'add')).toBe("'db user add' needs a user name");
  });

  test('each conflict is refused, naming both options', () => {
    expect(error('db', 'user', 'add', 'x', '--a', '--c')).toBe(
      '--a and --c cannot be used together',
    );
    expect(error('db', 'user', 'add', 'x', '--b', '--a')).toBe(
      '--a and --b cannot be used together',
    );
    expect(parseCommandLine(['db', 'user', 'add', 'x', '--b', '--c'], TABLE)).toMatchObject({
      options: { b: true, c: true },
    });
  });
});
