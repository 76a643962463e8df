/**
 * Turns a picked folder into a dataset: plans it (layout.ts), reads each file's header to refuse
 * non-images and oversized images cheaply, decodes the rest with bounded concurrency through an
 * injected decoder (the browser's createImageBitmap in the worker, pngjs in Node), reports progress
 * and can be cancelled. Every file that is not used is listed with the reason.
 */
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import { HEADER_BYTES, readImageHeader, tooLargeToDecode } from './image-header';
import { planFolder, type PlannedImage } from './layout';
import type { DatasetReport, SkippedFile } from './report';

export const SKIP_REASONS = {
  notAnImage: 'not an image (its content is not PNG, JPEG, WebP, GIF or BMP)',
  corrupt: 'corrupt (the image could not be decoded)',
  tooLarge: 'too large to decode (over 50 megapixels)',
  classWithoutTrainImages: 'its class has no decodable training image',
  unlabeledTest: 'in the test split, which is unused without class labels',
} as const;

export interface PickedFile {
  /** Path inside the picked folder, '/'-separated (the folder's own name may lead). */
  path: string;
  file: Blob;
}

export interface DecodedImage {
  /** size × size × 3 RGB. */
  pixels: Uint8Array;
  /** Size of the image before resizing. */
  width: number;
  height: number;
}

/** Decodes one file to size × size RGB (shorter side, centre crop); throws when it cannot. */
export type ImageDecoder = (file: Blob, size: number) => Promise<DecodedImage>;

export interface LoadProgress {
  done: number;
  total: number;
}

export interface FolderLoadOptions {
  imageSize: number;
  holdOutFraction?: number;
  seed?: number;
  /** Every image an unlabelled training image (planFolder's asFlat). */
  asFlat?: boolean;
  /** Files decoded at once… */
  concurrency?: number;
  /** …while their full-size pixels fit this many (DECODE_PIXEL_BUDGET unless given). */
  pixelBudget?: number;
  signal?: AbortSignal;
  onProgress?(progress: LoadProgress): void;
  /** Least time between two progress calls (the last one always comes). */
  progressIntervalMs?: number;
}

export class LoadCancelled extends Error {
  constructor() {
    super('Loading was cancelled.');
  }
}

type Outcome = { ok: true; width: number; height: number } | { ok: false; reason: string; detail?: string };

/**
 * Full-size pixels decoded at once (a decoder holds the whole image before resizing it): a few
 * 12-megapixel photos. An image larger than this decodes alone.
 */
export const DECODE_PIXEL_BUDGET = 40_000_000;

/** Admits decodes while their full-size pixels fit the budget; one decode is always admitted. */
class PixelBudget {
  private inFlight = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async reserve(pixels: number): Promise<void> {
    while (this.inFlight > 0 && this.inFlight + pixels > this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight += pixels;
  }

  release(pixels: number): void {
    this.inFlight -= pixels;
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}

/**
 * Small files are read many at a time, as one Blob of them all: every read of a picked file is a trip
 * to the browser's file system, which costs more than decoding a small image.
 */
const READ_BATCH_FILES = 64;
const READ_BATCH_BYTES = 1 << 20;

/** `whole`: the file's bytes, read already with others; otherwise its header is read here, and the rest by the decoder. */
async function decodeOne(file: Blob, whole: Uint8Array<ArrayBuffer> | null, size: number, decode: ImageDecoder, into: Uint8Array, budget: PixelBudget, budgetPixels: number): Promise<Outcome> {
  // A small file is read once, and decoded from memory.
  const bytes = whole ?? new Uint8Array(await (file.size <= HEADER_BYTES ? file : file.slice(0, HEADER_BYTES)).arrayBuffer());
  const complete = whole !== null || file.size <= HEADER_BYTES;
  const header = readImageHeader(bytes);
  if (!header) return { ok: false, reason: SKIP_REASONS.notAnImage };
  const tooLarge = tooLargeToDecode(header);
  if (tooLarge) return { ok: false, reason: SKIP_REASONS.tooLarge, detail: tooLarge };
  // A size the header does not give (a JPEG with long metadata) may be anything: it takes the whole budget.
  const pixels = header.width !== null && header.height !== null ? header.width * header.height : budgetPixels;
  await budget.reserve(pixels);
  try {
    const decoded = await decode(complete ? new Blob([bytes]) : file, size);
    into.set(decoded.pixels);
    return { ok: true, width: decoded.width, height: decoded.height };
  } catch (error) {
    return { ok: false, reason: SKIP_REASONS.corrupt, detail: error instanceof Error && error.message ? error.message : undefined };
  } finally {
    budget.release(pixels);
  }
}

/** The bytes of each of `files`, read in one go; null where the batch cannot be read as one (a file changed or went away): each is then read alone. */
async function readTogether(files: Blob[]): Promise<Uint8Array<ArrayBuffer>[] | null> {
  try {
    const all = new Uint8Array(await new Blob(files).arrayBuffer());
    let at = 0;
    return files.map((f) => all.subarray(at, (at += f.size)));
  } catch {
    return null;
  }
}

function imageSet(pixels: Uint8Array, labels: Int32Array | null, size: number): ImageSet {
  return { count: labels?.length ?? pixels.length / (size * size * 3), size, pixels, labels };
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

export async function loadImageFolder(
  name: string,
  files: PickedFile[],
  decode: ImageDecoder,
  options: FolderLoadOptions,
): Promise<{ data: DatasetSplits | null; report: DatasetReport; trainPaths: string[] }> {
  const started = performance.now();
  const { imageSize: size, concurrency = 8, pixelBudget = DECODE_PIXEL_BUDGET, signal, onProgress, progressIntervalMs = 100 } = options;
  const budget = new PixelBudget(pixelBudget);
  const plan = planFolder(
    files.map((f) => ({ path: f.path, size: f.file.size })),
    { holdOutFraction: options.holdOutFraction, seed: options.seed, asFlat: options.asFlat },
  );
  const bytesPerImage = size * size * 3;
  // Decoded straight into one buffer, training images first, then compacted in place: the pixels
  // are never copied and peak memory is the dataset once.
  const planned = [...plan.images.filter((i) => i.split === 'train'), ...plan.images.filter((i) => i.split === 'test')];
  const buffer = new Uint8Array(planned.length * bytesPerImage);
  const outcomes: Outcome[] = new Array(planned.length);

  const total = planned.length;
  let done = 0;
  let lastProgress = -Infinity;
  const report = (force: boolean) => {
    const now = performance.now();
    if (!onProgress || (!force && now - lastProgress < progressIntervalMs)) return;
    lastProgress = now;
    onProgress({ done, total });
  };
  report(true);
  let next = 0;
  const fileOf = (index: number) => files[planned[index].source].file;
  const decodeAt = async (index: number, whole: Uint8Array<ArrayBuffer> | null) => {
    outcomes[index] = await decodeOne(fileOf(index), whole, size, decode, buffer.subarray(index * bytesPerImage, (index + 1) * bytesPerImage), budget, pixelBudget);
    done += 1;
    report(false);
  };
  // The bytes of small files, read together with the small files after them: a decoder that reaches one finds it read.
  const prefetched: (Promise<Uint8Array<ArrayBuffer> | null> | undefined)[] = new Array(total);
  const smallFileBytes = (index: number): Promise<Uint8Array<ArrayBuffer> | null> | null => {
    if (fileOf(index).size > HEADER_BYTES) return null;
    if (!prefetched[index]) {
      let end = index;
      let batchBytes = 0;
      while (end < total && end - index < READ_BATCH_FILES && !prefetched[end] && fileOf(end).size <= HEADER_BYTES && batchBytes + fileOf(end).size <= READ_BATCH_BYTES) batchBytes += fileOf(end++).size;
      const batch = readTogether(Array.from({ length: end - index }, (_, i) => fileOf(index + i)));
      for (let i = index; i < end; i++) prefetched[i] = batch.then((all) => all?.[i - index] ?? null);
    }
    const bytes = prefetched[index] as Promise<Uint8Array<ArrayBuffer> | null>;
    prefetched[index] = undefined;
    return bytes;
  };
  const worker = async () => {
    while (next < total && !signal?.aborted) {
      const index = next++;
      await decodeAt(index, (await smallFileBytes(index)) ?? null);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (signal?.aborted) throw new LoadCancelled();
  report(true);

  const skipped: SkippedFile[] = [...plan.ignored];
  const notes = [...plan.notes];
  const decoded: { image: PlannedImage; slot: number }[] = [];
  let enlarged = 0;
  planned.forEach((image, slot) => {
    const outcome = outcomes[slot];
    if (!outcome.ok) {
      skipped.push({ path: image.path, reason: outcome.reason, ...(outcome.detail ? { detail: outcome.detail } : {}) });
      return;
    }
    if (Math.min(outcome.width, outcome.height) < size) enlarged += 1;
    decoded.push({ image, slot });
  });

  // Labels survive only for classes that still have a training image after decoding.
  let classNames = plan.classNames;
  let labelMap = new Map<number, number>();
  if (classNames.length > 0) {
    const withTrain = [...new Set(decoded.filter((d) => d.image.split === 'train').map((d) => d.image.label as number))].sort((a, b) => a - b);
    labelMap = new Map(withTrain.map((label, i) => [label, i]));
    classNames = withTrain.map((label) => plan.classNames[label]);
    if (classNames.length < 2 && decoded.length > 0) {
      notes.push('After decoding, fewer than two classes have training images, so label-based metrics are hidden. Training works.');
      classNames = [];
    }
  }
  const labelled = classNames.length > 0;
  const train: typeof decoded = [];
  const test: typeof decoded = [];
  for (const entry of decoded) {
    const { image } = entry;
    if (labelled && !labelMap.has(image.label as number)) skipped.push({ path: image.path, reason: SKIP_REASONS.classWithoutTrainImages });
    else if (image.split === 'train' || (!labelled && plan.layout !== 'split')) train.push(entry);
    else if (labelled) test.push(entry);
    else skipped.push({ path: image.path, reason: SKIP_REASONS.unlabeledTest });
  }

  // Slots increase along train then test, so every image moves towards the front or stays.
  [...train, ...test].forEach((e, i) => buffer.copyWithin(i * bytesPerImage, e.slot * bytesPerImage, (e.slot + 1) * bytesPerImage));
  const labelsOf = (entries: typeof decoded) => (labelled ? Int32Array.from(entries, (e) => labelMap.get(e.image.label as number) as number) : null);

  const decodeFailures = skipped.length - plan.ignored.length;
  if (decodeFailures > 0) notes.push(`${plural(decodeFailures, 'file')} could not be used after reading them; the rest of the folder is used.`);
  if (enlarged > 0) notes.push(`${plural(enlarged, 'image')} ${enlarged === 1 ? 'is' : 'are'} smaller than ${size} px and ${enlarged === 1 ? 'was' : 'were'} enlarged, so ${enlarged === 1 ? 'it looks' : 'they look'} blurry.`);
  if (train.length === 0 && plan.images.length > 0) notes.push('No image in this folder could be decoded, so there is nothing to train on.');

  const trainSet = imageSet(buffer.subarray(0, train.length * bytesPerImage), labelsOf(train), size);
  const testSet = test.length > 0 ? imageSet(buffer.subarray(train.length * bytesPerImage, (train.length + test.length) * bytesPerImage), labelsOf(test), size) : null;
  const classCounts = classNames.map((_, label) => [trainSet, testSet].reduce((n, set) => n + (set?.labels?.filter((l) => l === label).length ?? 0), 0));
  const data: DatasetSplits | null = train.length > 0 ? { name, classNames, train: trainSet, test: testSet } : null;
  return {
    data,
    // Which file each training image came from: the labels a person gives are kept by path.
    trainPaths: train.map((e) => e.image.path),
    report: {
      name,
      origin: 'folder',
      layout: plan.layout,
      imageSize: size,
      trainCount: trainSet.count,
      testCount: testSet?.count ?? 0,
      classNames,
      ...(options.asFlat ? { folderClasses: plan.folderClasses } : {}),
      classCounts,
      skipped,
      notes,
      milliseconds: performance.now() - started,
      bytes: trainSet.pixels.length + (testSet?.pixels.length ?? 0),
    },
  };
}
