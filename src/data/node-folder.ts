/**
 * Image folders in Node, for the headless runner and the benchmark: walks the directory, lets
 * `planFolder` decide layout, labels and hold-out exactly as the app does, decodes PNG with pngjs
 * and makes square thumbnails. Node has no built-in JPEG/WebP/GIF/BMP decoder, so those files are
 * skipped with a reason rather than guessed at.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import { planFolder, type FileEntry, type FolderPlan, type IgnoredFile, type PlannedImage } from './layout';
import { resampleToSquare } from './resample';

export interface LoadedFolder {
  splits: DatasetSplits;
  layout: FolderPlan['layout'];
  /** Everything not used, with the reason: the plan's skips and files that could not be decoded. */
  skipped: IgnoredFile[];
  notes: string[];
}

export interface FolderLoadOptions {
  imageSize: number;
  holdOutFraction?: number;
  /** Seed of the hold-out split; fixed by default so every run and method sees the same split. */
  seed?: number;
}

/** A problem with the folder itself: the runner prints the message and exits non-zero. */
export class FolderError extends Error {
  override name = 'FolderError';
}

/** Every regular file under `root`, '/'-separated and prefixed with the folder's own name, as a browser folder picker reports them. */
function listFiles(root: string): FileEntry[] {
  const prefix = basename(root);
  const files: FileEntry[] = [];
  const walk = (dir: string, relative: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full, path);
      else if (entry.isFile()) files.push({ path: `${prefix}/${path}`, size: statSync(full).size });
    }
  };
  walk(root, '');
  return files;
}

function isPng(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a;
}

/** RGB thumbnail of one file, or the reason it cannot be used. */
function decode(path: string, size: number): Uint8Array | string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return `could not be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!isPng(bytes)) {
    return /\.png$/i.test(path)
      ? 'not a valid PNG (wrong file signature)'
      : 'the command-line runner decodes PNG only; convert it to PNG or train on it in the app';
  }
  try {
    const png = PNG.sync.read(bytes);
    return resampleToSquare(png.data, png.width, png.height, 4, size);
  } catch (error) {
    return `could not be decoded: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function buildSet(images: { pixels: Uint8Array; label: number | null }[], size: number, labelled: boolean): ImageSet {
  const pixels = new Uint8Array(images.length * size * size * 3);
  images.forEach((image, i) => pixels.set(image.pixels, i * size * size * 3));
  return { count: images.length, size, pixels, labels: labelled ? Int32Array.from(images, (image) => image.label ?? 0) : null };
}

function summariseSkips(skipped: IgnoredFile[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} × ${reason}`).join('; ');
}

export function loadImageFolder(folder: string, options: FolderLoadOptions): LoadedFolder {
  const root = resolve(folder);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    throw new FolderError(`Data folder not found: ${root}`);
  }
  if (!isDirectory) throw new FolderError(`--data must be a folder of images, but ${root} is a file`);

  const plan = planFolder(listFiles(root), { holdOutFraction: options.holdOutFraction, seed: options.seed });
  const labelled = plan.classNames.length > 0;
  const skipped = [...plan.ignored];
  const decoded: Record<PlannedImage['split'], { pixels: Uint8Array; label: number | null }[]> = { train: [], test: [] };
  // Held-out images only serve kNN accuracy, which needs labels.
  for (const image of plan.images.filter((i) => labelled || i.split === 'train')) {
    const result = decode(join(root, image.path), options.imageSize);
    if (typeof result === 'string') skipped.push({ path: image.path, reason: result });
    else decoded[image.split].push({ pixels: result, label: image.label });
  }
  if (decoded.train.length === 0) {
    const why = skipped.length > 0 ? ` Skipped: ${summariseSkips(skipped)}.` : ' The folder is empty.';
    throw new FolderError(`No usable training images in ${root}.${why}`);
  }

  const notes = [...plan.notes];
  let test: ImageSet | null = null;
  if (labelled && decoded.test.length > 0) test = buildSet(decoded.test, options.imageSize, true);
  else if (labelled) notes.push('No held-out images (each class needs at least two): kNN accuracy cannot be measured.');
  if (skipped.length > 0) notes.push(`Skipped ${skipped.length} file(s): ${summariseSkips(skipped)}.`);
  return {
    splits: {
      name: basename(root),
      classNames: labelled ? plan.classNames : [],
      train: buildSet(decoded.train, options.imageSize, labelled),
      test,
    },
    layout: plan.layout,
    skipped,
    notes,
  };
}
