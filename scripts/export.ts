/** `npm run export -- --method <id> --pytorch <folder> …`: see src/runner/export-cli.ts and the README. */
import { exportCli } from '../src/runner/export-cli';

process.exitCode = await exportCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
