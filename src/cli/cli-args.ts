import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';

export type OptionKind = 'string' | 'boolean';

/** What one command accepts besides the common `--json` and `--help`. */
export interface CommandSpec {
  options: Readonly<Record<string, OptionKind>>;
  /** Names of the positional arguments after the command words, all required. */
  positionals: readonly string[];
}

export interface ParsedCommand {
  words: string[];
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  json: boolean;
}

const COMMON_OPTIONS: Readonly<Record<string, OptionKind>> = {
  json: 'boolean',
  help: 'boolean',
  table: 'string',
  'table-prefix': 'string',
};

/**
 * Reads `argv` for the command its leading words name. node:util parseArgs runs non-strict so that every
 * mistake gets a one-line message of ours that names the option, rather than its multi-line advice.
 *
 * @returns the command, or `'help'` when `--help`/`-h` appears anywhere
 */
export function parseCommandLine(
  argv: readonly string[],
  commands: Readonly<Record<string, CommandSpec>>,
): ParsedCommand | 'help' {
  const allOptions: Record<string, { type: OptionKind; short?: string }> = {
    help: {
      type: 'boolean',
      short: 'h',
    },
  };
  for (const spec of [{ options: COMMON_OPTIONS }, ...Object.values(commands)]) {
    for (const [name, type] of Object.entries(spec.options)) allOptions[name] ??= { type };
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options: allOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (tokens.some((token) => token.kind === 'option' && token.name === 'help')) return 'help';

  const positionals = tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []));
  const name = commandName(positionals, commands);
  const spec = commands[name];
  const words = name.split(' ');
  const allowed: Record<string, OptionKind> = { ...COMMON_OPTIONS, ...spec.options };

  const values: Record<string, string | boolean | undefined> = {};
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const type = Object.hasOwn(allowed, token.name) ? allowed[token.name] : undefined;
    if (type === undefined) {
      throw CliError.usage(`unknown option '${token.rawName}' for '${name}'`);
    }
    if (Object.hasOwn(values, token.name)) {
      throw CliError.usage(`option '${token.rawName}' is given more than once`);
    }
    if (type === 'boolean') {
      if (token.value !== undefined) {
        throw CliError.usage(`option '${token.rawName}' takes no value`);
      }
      values[token.name] = true;
    } else {
      if (token.value === undefined) {
        throw CliError.usage(`option '${token.rawName}' needs a value`);
      }
      if (!token.inlineValue && token.value.startsWith('-')) {
        throw CliError.usage(
          `option '${token.rawName}' needs a value (write ${token.rawName}=<value> for a value starting with '-')`,
        );
      }
      values[token.name] = token.value;
    }
  }

  const rest = positionals.slice(words.length);
  if (rest.length < spec.positionals.length) {
    throw CliError.usage(`'${name}' needs ${spec.positionals[rest.length]}`);
  }
  if (rest.length > spec.positionals.length) {
    throw CliError.usage(`unexpected argument '${rest[spec.positionals.length]}' for '${name}'`);
  }
  return { words, values, positionals: rest, json: values.json === true };
}

/** The command the leading positionals name: one word (`migrate`) or a group and a word (`client list`). */
function commandName(
  positionals: readonly string[],
  commands: Readonly<Record<string, CommandSpec>>,
): string {
  const names = Object.keys(commands);
  const groups = [...new Set(names.map((name) => name.split(' ')[0]))];
  const [group, sub] = positionals;
  if (group === undefined) throw CliError.usage(`missing command (${groups.join(', ')})`);
  if (!groups.includes(group)) throw CliError.usage(`unknown command '${group}'`);
  if (names.includes(group)) return group;
  const subs = names
    .filter((name) => name.startsWith(`${group} `))
    .map((name) => name.slice(group.length + 1));
  if (sub === undefined) throw CliError.usage(`missing '${group}' command (${subs.join(', ')})`);
  if (!subs.includes(sub)) throw CliError.usage(`unknown command '${group} ${sub}'`);
  return `${group} ${sub}`;
}
