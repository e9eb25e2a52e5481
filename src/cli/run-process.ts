import 'reflect-metadata';
import { runCli } from './run-cli.js';

/**
 * The CLI as a process: its arguments, stdio and exit status. SIGINT interrupts a command that can stop
 * cleanly (it finishes its batch); a second SIGINT, or one during any other command, ends the process at
 * once with status 130, as the default handler would.
 */
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTerminal: process.stderr.isTTY === true,
  onInterrupt: (interrupt) => {
    let interrupted = false;
    const listener = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      interrupt();
    };
    process.on('SIGINT', listener);
    return () => process.off('SIGINT', listener);
  },
});
