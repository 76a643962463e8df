/** `npm run train -- --data <folder> …`: see src/runner/train-cli.ts and the README. */
import { trainCli } from '../src/runner/train-cli';

process.exitCode = await trainCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
