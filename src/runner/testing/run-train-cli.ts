/** Test helper: runs `npm run train`'s entry point in-process and keeps what it prints. */
import { trainCli } from '../train-cli';

export async function runTrainCli(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await trainCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err: err.join('\n') };
}

/** The smallest run worth training: the tiny ConvNet at 8 px, batch 4, on the tfjs CPU backend. */
export const TINY_RUN = ['--backend', 'cpu', '--encoder', 'convnet-tiny', '--image-size', '8', '--batch', '4'];
