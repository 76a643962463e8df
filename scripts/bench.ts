/** `npm run bench [-- --quick]`: see src/runner/bench-cli.ts and the README. */
import { benchCli } from '../src/runner/bench-cli';

process.exitCode = await benchCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
