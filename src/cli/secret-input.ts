import { CliError } from './cli-error.js';

/** Where `--secret-stdin` reads a chosen secret: the process's stdin, or what a test feeds. */
export interface SecretInput {
  /** Whether stdin is a terminal: then the secret is asked for, without echo. */
  readonly isTerminal: boolean;
  /** Everything on stdin, up to its end. */
  readAll(): Promise<string>;
  /** Asks for one line on the terminal without echoing it. */
  prompt(question: string): Promise<string>;
}

/** More than any secret needs; a larger stdin is a mistake (a file piped in by accident). */
const MAX_INPUT_BYTES = 4096;

/**
 * The chosen secret from stdin: piped, its content less one trailing newline; on a terminal, typed twice
 * without echo. Never empty.
 */
export async function readChosenSecret(input: SecretInput): Promise<string> {
  let secret: string;
  if (input.isTerminal) {
    secret = await input.prompt('Client secret: ');
    if (secret !== '' && (await input.prompt('Again: ')) !== secret) {
      throw new CliError('the two secrets typed differ: nothing was changed');
    }
  } else {
    secret = (await input.readAll()).replace(/\r?\n$/, '');
  }
  if (secret === '') throw new CliError('the secret read from stdin is empty');
  return secret;
}

/** The process's stdin, read only when a command asks for a secret. */
export function processSecretInput(
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): SecretInput {
  return {
    isTerminal: stdin.isTTY === true,
    async readAll() {
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of stdin) {
        length += (chunk as Buffer).length;
        if (length > MAX_INPUT_BYTES) {
          stdin.destroy();
          throw new CliError(`stdin holds more than ${MAX_INPUT_BYTES} bytes: not a secret`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    prompt: (question) => promptHidden(stdin, stderr, question),
  };
}

/** One line typed on a raw-mode terminal, echoing nothing; Ctrl-C or Ctrl-D abandons it. */
function promptHidden(
  stdin: NodeJS.ReadStream,
  stderr: NodeJS.WriteStream,
  question: string,
): Promise<string> {
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let line = '';
    const done = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003' || char === '\u0004') return done(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') line = line.slice(0, -1);
        else if (line.length < MAX_INPUT_BYTES) line += char;
      }
    };
    stdin.on('data', onData);
  });
}
