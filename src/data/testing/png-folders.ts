/** Test helper: writes small PNG folders into a temporary directory (Node only). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodePng, solid } from './image-files';

/** PNG bytes of a width × height image filled with one RGB colour. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  return encodePng(width, height, solid(width, height, [...rgb, 255]));
}

/** Creates a temporary folder holding `files` (relative path → contents) and returns its path. */
export function makeFolder(name: string, files: Record<string, Uint8Array | string>): string {
  const root = join(mkdtempSync(join(tmpdir(), 'siamese-')), name);
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), contents);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

/** Two colour classes (red, blue) in train/ and test/: 6 train and 2 test images each, 8×8 PNG. */
export function twoColourFolder(): string {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 6; i++) {
    files[`train/red/${i}.png`] = solidPng(8, 8, [200 + i * 5, 10 * i, 0]);
    files[`train/blue/${i}.png`] = solidPng(8, 8, [0, 10 * i, 200 + i * 5]);
  }
  for (let i = 0; i < 2; i++) {
    files[`test/red/${i}.png`] = solidPng(8, 8, [220, 5 * i, 10]);
    files[`test/blue/${i}.png`] = solidPng(8, 8, [10, 5 * i, 220]);
  }
  return makeFolder('colours', files);
}
