/** Exit status of a command line that could not be understood (as getopt-style tools use). */
export const USAGE_EXIT_CODE = 2;

/**
 * An expected failure of a command: printed as one line on stderr, without a stack trace. `exitCode` is 1 for
 * a refused operation, 2 for a command line that could not be understood.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }

  static usage(message: string): CliError {
    return new CliError(message, USAGE_EXIT_CODE);
  }
}
