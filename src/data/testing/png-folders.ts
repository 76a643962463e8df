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
