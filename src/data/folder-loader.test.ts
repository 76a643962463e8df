import { describe, expect, it } from 'vitest';
import { DECODE_PIXEL_BUDGET, LoadCancelled, SKIP_REASONS, loadImageFolder, type ImageDecoder, type PickedFile } from './folder-loader';
import { readImageHeader } from './image-header';
import { decodePng, encodePng, hugeBlankPng, solid } from './testing/image-files';

const pick = (path: string, bytes: Uint8Array | string): PickedFile => ({ path, file: new Blob([typeof bytes === 'string' ? bytes : bytes.slice()]) });
const colourPng = (rgb: [number, number, number], size = 4) => encodePng(size, size, solid(size, size, [...rgb, 255]));

/** A class folder with `count` good images of one colour each. */
function classFolder(root: string, name: string, count: number, rgb: [number, number, number], size = 4): PickedFile[] {
  return Array.from({ length: count }, (_, i) => pick(`${root}/${name}/${i}.png`, colourPng(rgb, size)));
}

function pixelAt(set: { pixels: Uint8Array; size: number }, index: number): number[] {
  const at = index * set.size * set.size * 3;
  return Array.from(set.pixels.subarray(at, at + 3));
}

describe('loadImageFolder', () => {
  it('skips each kind of bad file with its reason and still uses the rest of the folder', async () => {
    const transparent = solid(3, 3, [255, 0, 0, 0]);
    const files = [
      ...classFolder('mixed', 'cats', 6, [200, 50, 50], 8),
      ...classFolder('mixed', 'dogs', 6, [50, 50, 200], 8),
      pick('mixed/cats/corrupt.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7])),
      pick('mixed/cats/empty.png', new Uint8Array(0)),
      pick('mixed/cats/readme.txt', 'not an image'),
      pick('mixed/dogs/fake.png', 'text pretending to be a picture'),
      pick('mixed/dogs/huge.png', hugeBlankPng(10_000, 10_000)),
      pick('mixed/dogs/tiny.png', encodePng(1, 1, solid(1, 1, [0, 255, 0, 255]))),
      pick('mixed/dogs/clear.png', encodePng(3, 3, transparent)),
      pick('mixed/dogs/gray.png', encodePng(8, 8, solid(8, 8, [90, 90, 90, 255]), 0)),
      pick('mixed/.DS_Store', 'metadata'),
    ];
    const { data, report } = await loadImageFolder('mixed', files, decodePng, { imageSize: 8, seed: 1 });
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.path, s.reason]));
    expect(reasons).toEqual({
      'cats/corrupt.png': SKIP_REASONS.corrupt,
      'cats/empty.png': 'empty file (0 bytes)',
      'cats/readme.txt': 'not an image (unsupported file type)',
      'dogs/fake.png': SKIP_REASONS.notAnImage,
      'dogs/huge.png': SKIP_REASONS.tooLarge,
      '.DS_Store': 'hidden or system file',
    });
    expect(report.skipped.find((s) => s.path === 'dogs/huge.png')?.detail).toBe('10000×10000 pixels');
    expect(report.classNames).toEqual(['cats', 'dogs']);
    expect(report.classCounts).toEqual([6, 9]);
    expect(report.trainCount + report.testCount).toBe(15);
    expect(report.testCount).toBe(2); // 10 % of each class, rounded, at least one
    expect(report.notes.join(' ')).toMatch(/2 images are smaller than 8 px and were enlarged/);
    expect(report.notes.join(' ')).toMatch(/3 files could not be used/);
    expect(report.bytes).toBe(15 * 8 * 8 * 3);
    expect(data).not.toBeNull();
    const all = [data!.train, data!.test!];
    const colours = all.flatMap((set) => Array.from({ length: set.count }, (_, i) => pixelAt(set, i).join(',')));
    // Transparent pixels are composited over white; grayscale is replicated; the 1 × 1 image fills the square.
    expect(colours).toContain('255,255,255');
    expect(colours).toContain('90,90,90');
    expect(colours).toContain('0,255,0');
    expect(colours.filter((c) => c === '200,50,50')).toHaveLength(6);
  });

  it('uses train/ and test/ as the split and keeps labels aligned with pixels', async () => {
    const files = [
      ...classFolder('cifar/train', 'red', 3, [255, 0, 0]),
      ...classFolder('cifar/train', 'blue', 2, [0, 0, 255]),
      ...classFolder('cifar/test', 'red', 1, [255, 0, 0]),
      ...classFolder('cifar/test', 'blue', 2, [0, 0, 255]),
    ];
    const { data, report } = await loadImageFolder('cifar', files, decodePng, { imageSize: 4 });
    expect(report.layout).toBe('split');
    expect([report.trainCount, report.testCount]).toEqual([5, 3]);
    expect(report.classNames).toEqual(['blue', 'red']);
    for (const set of [data!.train, data!.test!]) {
      for (let i = 0; i < set.count; i++) expect(pixelAt(set, i)).toEqual(set.labels![i] === 0 ? [0, 0, 255] : [255, 0, 0]);
    }
  });

  it('drops a class whose images all fail to decode, and says so for its held-out images', async () => {
    const broken = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]);
    const files = [
      ...classFolder('d/train', 'a', 2, [10, 10, 10]),
      ...classFolder('d/train', 'b', 2, [20, 20, 20]),
      pick('d/train/c/0.png', broken),
      ...classFolder('d/test', 'a', 1, [10, 10, 10]),
      ...classFolder('d/test', 'c', 1, [30, 30, 30]),
    ];
    const { data, report } = await loadImageFolder('d', files, decodePng, { imageSize: 4 });
    expect(report.classNames).toEqual(['a', 'b']);
    expect(report.skipped).toContainEqual({ path: 'test/c/0.png', reason: SKIP_REASONS.classWithoutTrainImages });
    expect(data!.test!.count).toBe(1);
    expect(data!.test!.labels).toEqual(Int32Array.from([0]));
  });

  it('trains on a one-class folder without labels, and on a flat folder', async () => {
    const oneClass = await loadImageFolder('x', classFolder('x', 'only', 4, [1, 2, 3]), decodePng, { imageSize: 4 });
    expect(oneClass.data!.train.labels).toBeNull();
    expect(oneClass.data!.train.count).toBe(4);
    expect(oneClass.data!.test).toBeNull();
    expect(oneClass.report.notes[0]).toMatch(/Only one class/);
    const flat = await loadImageFolder('y', [pick('y/a.png', colourPng([1, 1, 1])), pick('y/b.png', colourPng([2, 2, 2]))], decodePng, { imageSize: 4 });
    expect(flat.report.layout).toBe('flat');
    expect(flat.data!.train.count).toBe(2);
    expect(flat.report.notes.join(' ')).toMatch(/No class labels/);
  });

  it('returns no dataset, with a note, for an empty folder and for a folder of undecodable files', async () => {
    const empty = await loadImageFolder('e', [], decodePng, { imageSize: 4 });
    expect(empty.data).toBeNull();
    expect(empty.report.notes.join(' ')).toMatch(/No usable images/);
    const bad = await loadImageFolder('b', [pick('b/1.png', 'nope'), pick('b/2.png', 'nope')], decodePng, { imageSize: 4 });
    expect(bad.data).toBeNull();
    expect(bad.report.skipped.map((s) => s.reason)).toEqual([SKIP_REASONS.notAnImage, SKIP_REASONS.notAnImage]);
    expect(bad.report.notes.join(' ')).toMatch(/nothing to train on/);
  });

  it('gives the same dataset whatever the concurrency', async () => {
    const files = ['a', 'b', 'c'].flatMap((name, i) => Array.from({ length: 7 }, (_, j) => pick(`f/${name}/${j}.png`, colourPng([i * 80, j * 30, 7], 5))));
    const serial = await loadImageFolder('f', files, decodePng, { imageSize: 3, concurrency: 1, seed: 2 });
    const parallel = await loadImageFolder('f', files, decodePng, { imageSize: 3, concurrency: 6, seed: 2 });
    expect(parallel.data!.train.pixels).toEqual(serial.data!.train.pixels);
    expect(parallel.data!.train.labels).toEqual(serial.data!.train.labels);
    expect(parallel.data!.test!.pixels).toEqual(serial.data!.test!.pixels);
  });

  it('reads small files many at a time, as one Blob, and decodes each from its own bytes', async () => {
    // Each file counts the reads made of it alone; reading the Blob of many files does not call them.
    let readsAlone = 0;
    class CountedBlob extends Blob {
      override arrayBuffer() {
        readsAlone += 1;
        return super.arrayBuffer();
      }
      override slice(...args: Parameters<Blob['slice']>) {
        readsAlone += 1;
        return super.slice(...args);
      }
    }
    const files = ['a', 'b'].flatMap((name, i) => Array.from({ length: 100 }, (_, j) => ({ path: `r/${name}/${j}.png`, file: new CountedBlob([colourPng([i * 100, j, 9], 3 + (j % 3)).slice()]) })));
    const { data } = await loadImageFolder('r', files, decodePng, { imageSize: 3, seed: 3 });
    expect(readsAlone).toBe(0);
    // Every image is its own file's colour: the batch was cut at each file's size.
    const colours = new Set([data!.train, data!.test!].flatMap((set) => Array.from({ length: set.count }, (_, i) => pixelAt(set, i).join(','))));
    expect(colours).toEqual(new Set(['a', 'b'].flatMap((_, i) => Array.from({ length: 100 }, (_, j) => `${i * 100},${j},9`))));
  });

  it('decodes a few large photos at a time: their full-size pixels in flight stay within the budget', async () => {
    // Twelve 12-megapixel photos (valid PNGs, blank so they stay small), and small images beside them.
    const photos = Array.from({ length: 12 }, (_, i) => pick(`d/${i % 2 ? 'a' : 'b'}/photo${i}.png`, hugeBlankPng(4000, 3000)));
    const small = classFolder('d', 'a', 6, [1, 2, 3]).concat(classFolder('d', 'b', 6, [4, 5, 6]));
    const measure = async (files: PickedFile[], pixelBudget: number | undefined) => {
      let inFlight = 0;
      let most = 0;
      let mostFiles = 0;
      let filesInFlight = 0;
      const counting: ImageDecoder = async (file, size) => {
        const header = readImageHeader(new Uint8Array(await file.slice(0, 64).arrayBuffer()))!;
        const pixels = header.width! * header.height!;
        inFlight += pixels;
        filesInFlight += 1;
        most = Math.max(most, inFlight);
        mostFiles = Math.max(mostFiles, filesInFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= pixels;
        filesInFlight -= 1;
        return { pixels: new Uint8Array(size * size * 3), width: header.width!, height: header.height! };
      };
      const { data } = await loadImageFolder('d', files, counting, { imageSize: 4, concurrency: 8, pixelBudget });
      expect(data!.train.count + data!.test!.count).toBe(files.length);
      return { most, mostFiles };
    };
    // Three 12-MP photos fit the 40-MP budget (DECODE_PIXEL_BUDGET); without a budget all eight decoders would hold one.
    expect(DECODE_PIXEL_BUDGET).toBe(40_000_000);
    expect((await measure(photos, undefined)).most).toBe(3 * 12_000_000);
    expect((await measure(photos, Infinity)).most).toBe(8 * 12_000_000);
    // A photo larger than the budget still decodes, alone; small images still go eight at a time beside the photos.
    expect((await measure(photos, 10_000_000)).most).toBe(12_000_000);
    const mixed = await measure([...photos, ...small], undefined);
    expect(mixed.most).toBeLessThanOrEqual(DECODE_PIXEL_BUDGET);
    expect((await measure(small, undefined)).mostFiles).toBe(8);
  });

  it('reports progress up to the total and stops when cancelled', async () => {
    const files = classFolder('p', 'a', 10, [5, 5, 5]).concat(classFolder('p', 'b', 10, [6, 6, 6]));
    const seen: number[] = [];
    await loadImageFolder('p', files, decodePng, { imageSize: 4, progressIntervalMs: 0, onProgress: ({ done, total }) => {
      expect(total).toBe(20);
      seen.push(done);
    } });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(20);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    const controller = new AbortController();
    let decodedCount = 0;
    const slowDecode: ImageDecoder = async (file, size) => {
      decodedCount += 1;
      if (decodedCount === 3) controller.abort();
      return decodePng(file, size);
    };
    await expect(loadImageFolder('p', files, slowDecode, { imageSize: 4, concurrency: 1, signal: controller.signal })).rejects.toBeInstanceOf(LoadCancelled);
    expect(decodedCount).toBe(3);
  });
});
