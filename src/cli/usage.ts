import {
  commandName,
  conflictsOf,
  HELP,
  optionLabel,
  type CommandSyntax,
  type CommandTable,
  type OptionSpec,
} from './cli-args.js';

/** The width the usage text is wrapped to. */
const WIDTH = 100;
/** A left column cell wider than this puts its description on the next line. */
const MAX_LEFT = 32;

/** A line of the two-column part: what to type on the left, what it does on the right. */
interface Row {
  left: string[];
  right: string;
}

/** The `--help` text, generated from the table: every command with its options, then the common options. */
export function usageText(table: CommandTable): string {
  const commands = table.commands.flatMap((command): Row[] => [
    { left: synopsis(command), right: command.description },
    ...command.options.map((option) => ({
      left: [`    ${label(option)}`],
      right: option.description,
    })),
  ]);
  const options = [...table.options, HELP].map((option) => ({
    left: [`  ${label(option)}`],
    right: option.description,
  }));
  const column =
    2 + Math.max(...[...commands, ...options].map(leftWidth).filter((w) => w <= MAX_LEFT));
  return [
    [`Usage: ${table.program} <command> [options]`],
    wrap(table.description, 0),
    ['Commands:', ...commands.flatMap((row) => layout(row, column))],
    ['Options:', ...options.flatMap((row) => layout(row, column))],
    wrap(table.footer, 0),
  ]
    .map((paragraph) => paragraph.join('\n') + '\n')
    .join('\n');
}

/** `client create --id <id> [--secret <secret> | --secret-stdin | --public] …`, wrapped under its first argument. */
function synopsis(command: CommandSyntax): string[] {
  const parts = command.positionals.map((positional) => `<${positional.name}>`);
  const conflicting = new Set(command.options.flatMap(conflictsOf));
  for (const option of command.options) {
    if (conflicting.has(option.name)) continue;
    const others = conflictsOf(option).flatMap((name) =>
      command.options.filter((spec) => spec.name === name),
    );
    const text = [option, ...others].map(optionLabel).join(' | ');
    parts.push(option.required ? text : `[${text}]`);
  }
  const name = `  ${commandName(command)}`;
  const lines = [name];
  for (const part of parts) {
    if (lines.at(-1)!.length + 1 + part.length > WIDTH) lines.push(' '.repeat(name.length));
    lines[lines.length - 1] += ` ${part}`;
  }
  return lines;
}

function label(option: OptionSpec): string {
  return option.short === undefined
    ? optionLabel(option)
    : `-${option.short}, ${optionLabel(option)}`;
}

function leftWidth({ left }: Row): number {
  return left.length === 1 ? left[0].length : Infinity;
}

/** The left cell, and its description in the column: beside it when it fits, else below it. */
function layout(row: Row, column: number): string[] {
  const right = wrap(row.right, column).map((line) => ' '.repeat(column) + line);
  if (leftWidth(row) + 2 > column) return [...row.left, ...right];
  return [row.left[0] + right[0].slice(row.left[0].length), ...right.slice(1)];
}

/** The words of `text` in lines that fit in WIDTH after `indent` columns. */
function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && indent + lines[last].length + 1 + word.length <= WIDTH)
      lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}
