import { runCli } from './cli.js';
import { exitCodes } from './errors.js';

// Ctrl-C: stop at once with the aws CLI's status for an interrupt (a --wait stops waiting; what
// was asked of the control plane goes on there).
process.once('SIGINT', () => {
  process.stderr.write('\nmqctl: interrupted\n');
  process.exit(exitCodes.interrupted);
});

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdoutIsTty: process.stdout.isTTY === true,
  writeStdout: (text) => process.stdout.write(text),
  writeStderr: (text) => process.stderr.write(text),
});
