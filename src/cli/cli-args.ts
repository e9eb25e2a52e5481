import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';

/** One option: parsing, the usage text and messages all read it from here. */
export interface OptionSpec {
  /** The long name, without the dashes. */
  readonly name: string;
  /** What its value is, shown as `--name <value>`; an option without one is a flag. */
  readonly value?: string;
  readonly short?: string;
  readonly required?: boolean;
  /** Other options of the same command that cannot be given with this one. */
  readonly conflicts?: string | readonly string[];
  /** The client property the value sets, so a message about that property names the option. */
  readonly field?: string;
  /** One line for the usage text. */
  readonly description: string;
  /** Printed on stderr whenever the option is given, whatever the outcome. */
  readonly warning?: string;
}

/** A positional argument after the command words; all are required. */
export interface PositionalSpec {
  /** Shown as `<name>`. */
  readonly name: string;
  /** What is missing when it is, as in "'client show' needs a client id". */
  readonly description: string;
}

/** What the parser and the usage text know of a command. */
export interface CommandSyntax {
  /** `['client', 'create']`, `['client', 'secret', 'add']`: a command is its words, group words first. */
  readonly words: readonly string[];
  readonly positionals: readonly PositionalSpec[];
  readonly options: readonly OptionSpec[];
  /** What it does, for the usage text. */
  readonly description: string;
}

/** A program's command line: its commands, the options every command takes, and its usage prose. */
export interface CommandTable<
  C extends CommandSyntax = CommandSyntax,
  G extends readonly OptionSpec[] = readonly OptionSpec[],
> {
  readonly program: string;
  /** What the program does, for the usage text. */
  readonly description: string;
  readonly commands: readonly C[];
  readonly options: G;
  /** The last paragraph of the usage text. */
  readonly footer: string;
}

/**
 * The values of a list of options: a string (or undefined unless required) per option with a value, a boolean
 * per flag; anything for options whose names are not known until run time.
 */
export type OptionValues<O extends readonly OptionSpec[]> = {
  [S in O[number] as S['name']]: string extends S['name']
    ? string | boolean | undefined
    : S extends { value: string }
      ? S extends { required: true }
        ? string
        : string | undefined
      : boolean;
};

/** The positionals by name. */
export type PositionalValues<P extends readonly PositionalSpec[]> = {
  [S in P[number] as S['name']]: string;
};

export interface ParsedCommand<C extends CommandSyntax, G extends readonly OptionSpec[]> {
  command: C;
  /** The command's options and the table's common ones. */
  options: OptionValues<G> & Readonly<Record<string, string | boolean | undefined>>;
  positionals: Readonly<Record<string, string>>;
}

/** Every command line takes it; the parser answers it before anything else is checked. */
export const HELP: OptionSpec = { name: 'help', short: 'h', description: 'Show this help.' };

/** `--name <value>` or `--name`, as the usage text and messages write an option. */
export function optionLabel(option: OptionSpec): string {
  return option.value === undefined ? `--${option.name}` : `--${option.name} <${option.value}>`;
}

export function commandName(command: CommandSyntax): string {
  return command.words.join(' ');
}

/**
 * Reads `argv` by the table. The command is found from the leading positionals with only the common options
 * known; then `argv` is read again with the command's own options. node:util parseArgs runs non-strict so
 * that every mistake gets a one-line message of ours that names the option, rather than its advice.
 *
 * @returns the command and its values, or `'help'` when `--help`/`-h` appears
 */
export function parseCommandLine<C extends CommandSyntax, G extends readonly OptionSpec[]>(
  argv: readonly string[],
  table: CommandTable<C, G>,
): ParsedCommand<C, G> | 'help' {
  const common = tokenize(argv, table.options);
  if (asksForHelp(common)) return 'help';
  const command = findCommand(positionalsOf(common), table.commands);
  const options = [...table.options, ...command.options];
  const tokens = tokenize(argv, options);
  if (asksForHelp(tokens)) return 'help';

  const name = commandName(command);
  const values = optionValues(tokens, options, name);
  const positionals = positionalsOf(tokens);
  if (command.words.some((word, index) => positionals[index] !== word)) {
    throw CliError.usage(`the options of '${name}' go after its name`);
  }
  const rest = positionals.slice(command.words.length);
  const specs = command.positionals;
  if (rest.length < specs.length) {
    throw CliError.usage(`'${name}' needs ${specs[rest.length].description}`);
  }
  if (rest.length > specs.length) {
    throw CliError.usage(`unexpected argument '${rest[specs.length]}' for '${name}'`);
  }
  return {
    command,
    // Every option of the table is in `values`, read by its spec.
    options: values as ParsedCommand<C, G>['options'],
    positionals: Object.fromEntries(specs.map((spec, index) => [spec.name, rest[index]])),
  };
}

type Token = ReturnType<typeof tokenize>[number];

function tokenize(argv: readonly string[], options: readonly OptionSpec[]) {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const option of [HELP, ...options]) {
    config[option.name] = { type: option.value === undefined ? 'boolean' : 'string' };
    if (option.short !== undefined) config[option.name].short = option.short;
  }
  return parseArgs({
    args: [...argv],
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens;
}

function asksForHelp(tokens: readonly Token[]): boolean {
  return tokens.some((token) => token.kind === 'option' && token.name === HELP.name);
}

function positionalsOf(tokens: readonly Token[]): string[] {
  return tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []));
}

/**
 * The command the leading positionals name, word by word: `migrate`, a group and a word (`client list`), or
 * groups within groups (`client secret add`).
 */
function findCommand<C extends CommandSyntax>(
  positionals: readonly string[],
  commands: readonly C[],
): C {
  let candidates = commands;
  for (let depth = 0; ; depth++) {
    const found = candidates.find((command) => command.words.length === depth);
    if (found) return found;
    const group = positionals.slice(0, depth).join(' ');
    const word = positionals[depth];
    if (word === undefined) {
      const next = [...new Set(candidates.map((command) => command.words[depth]))].join(', ');
      throw CliError.usage(
        depth === 0 ? `missing command (${next})` : `missing '${group}' command (${next})`,
      );
    }
    candidates = candidates.filter((command) => command.words[depth] === word);
    if (candidates.length === 0) {
      throw CliError.usage(`unknown command '${depth === 0 ? word : `${group} ${word}`}'`);
    }
  }
}

/** An option's `conflicts` as a list. */
export function conflictsOf(option: OptionSpec): readonly string[] {
  return typeof option.conflicts === 'string' ? [option.conflicts] : (option.conflicts ?? []);
}

function optionValues(
  tokens: readonly Token[],
  options: readonly OptionSpec[],
  name: string,
): Record<string, string | boolean | undefined> {
  const values: Record<string, string | boolean | undefined> = {};
  for (const option of options) if (option.value === undefined) values[option.name] = false;
  const given = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = options.find((spec) => spec.name === token.name);
    if (option === undefined)
      throw CliError.usage(`unknown option '${token.rawName}' for '${name}'`);
    if (given.has(option.name)) {
      throw CliError.usage(`option '${token.rawName}' is given more than once`);
    }
    given.add(option.name);
    values[option.name] = optionValue(token, option);
  }
  for (const option of options) {
    if (option.required && !given.has(option.name)) {
      throw CliError.usage(`'${name}' needs ${optionLabel(option)}`);
    }
    const other = conflictsOf(option).find((name) => given.has(name));
    if (other !== undefined && given.has(option.name)) {
      throw CliError.usage(`--${option.name} and --${other} cannot be used together`);
    }
  }
  return values;
}

function optionValue(token: Token & { kind: 'option' }, option: OptionSpec): string | boolean {
  if (option.value === undefined) {
    if (token.value !== undefined) throw CliError.usage(`option '${token.rawName}' takes no value`);
    return true;
  }
  if (token.value === undefined) throw CliError.usage(`option '${token.rawName}' needs a value`);
  if (!token.inlineValue && token.value.startsWith('-')) {
    throw CliError.usage(
      `option '${token.rawName}' needs a value (write ${token.rawName}=<value> for a value starting with '-')`,
    );
  }
  return token.value;
}
