import { describe, expect, it } from 'vitest';
import { FolderError, loadImageFolder } from './node-folder';
import { makeFolder, solidPng } from './testing/png-folders';

describe('loadImageFolder', () => {
  it('loads a train/test folder with class labels, resized, skipping what it cannot decode with a reason', () => {
    const root = makeFolder('pets', {
      'train/cat/a.png': solidPng(8, 8, [200, 0, 0]),
      'train/cat/b.png': solidPng(12, 6, [100, 0, 0]),
      'train/dog/a.png': solidPng(4, 4, [0, 50, 0]),
      'train/dog/broken.png': Buffer.concat([solidPng(4, 4, [1, 2, 3]).subarray(0, 40)]),
      'train/dog/photo.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]),
      'train/dog/fake.png': 'not a png at all',
      'test/cat/c.png': solidPng(8, 8, [255, 255, 255]),
      'test/dog/c.png': solidPng(2, 2, [0, 0, 9]),
      'notes.txt': 'hello',
    });
    const loaded = loadImageFolder(root, { imageSize: 4 });
    const { train, test } = loaded.splits;
    expect(loaded.layout).toBe('split');
    expect(loaded.splits.name).toBe('pets');
    expect(loaded.splits.classNames).toEqual(['cat', 'dog']);
    expect(train.count).toBe(3);
    expect(Array.from(train.labels ?? [])).toEqual([0, 0, 1]);
    expect(train.size).toBe(4);
    // Solid colours stay solid through the crop and resize.
    expect(Array.from(train.pixels.subarray(0, 3))).toEqual([200, 0, 0]);
    expect(Array.from(train.pixels.subarray(48, 51))).toEqual([100, 0, 0]);
    expect(Array.from(train.pixels.subarray(96 + 45, 96 + 48))).toEqual([0, 50, 0]);
    expect(test?.count).toBe(2);
    expect(Array.from(test?.labels ?? [])).toEqual([0, 1]);
    expect(Array.from(test?.pixels.subarray(48, 51) ?? [])).toEqual([0, 0, 9]);

    const reasons = Object.fromEntries(loaded.skipped.map((s) => [s.path, s.reason]));
    expect(reasons['notes.txt']).toBe('not an image (unsupported file type)');
    expect(reasons['train/dog/broken.png']).toMatch(/^could not be decoded/);
    expect(reasons['train/dog/fake.png']).toBe('not a valid PNG (wrong file signature)');
    expect(reasons['train/dog/photo.jpg']).toMatch(/decodes PNG only/);
    expect(loaded.notes.join(' ')).toMatch(/Skipped 4 file/);
  });

  it('holds out part of each class when there is no test folder, and loads flat folders unlabeled', () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 10; i++) {
      files[`a/${i}.png`] = solidPng(3, 3, [i, 0, 0]);
      files[`b/${i}.png`] = solidPng(3, 3, [0, i, 0]);
    }
    const classes = loadImageFolder(makeFolder('ab', files), { imageSize: 2 });
    expect(classes.layout).toBe('classes');
    expect(classes.splits.train.count).toBe(18);
    expect(Array.from(classes.splits.test?.labels ?? []).sort()).toEqual([0, 1]);

    const flat = loadImageFolder(makeFolder('flat', { 'x.png': solidPng(3, 3, [1, 1, 1]), 'y.png': solidPng(3, 3, [2, 2, 2]) }), { imageSize: 2 });
    expect(flat.layout).toBe('flat');
    expect(flat.splits.train.labels).toBeNull();
    expect(flat.splits.test).toBeNull();
    expect(flat.notes.join(' ')).toMatch(/No class labels/);
  });

  it('fails with a clear message for a missing folder, a file, or a folder with no usable images', () => {
    expect(() => loadImageFolder('/no/such/folder', { imageSize: 8 })).toThrow(new FolderError('Data folder not found: /no/such/folder'));
    const root = makeFolder('junk', { 'a/readme.md': 'x', 'a/photo.jpg': Buffer.from([0xff, 0xd8]), 'b/bad.png': 'xx' });
    expect(() => loadImageFolder(`${root}/a/readme.md`, { imageSize: 8 })).toThrow(/must be a folder of images/);
    expect(() => loadImageFolder(root, { imageSize: 8 })).toThrow(/No usable training images in .*junk\. Skipped: .*not an image.*decodes PNG only.*not a valid PNG/);
    expect(() => loadImageFolder(makeFolder('empty', {}), { imageSize: 8 })).toThrow(/The folder is empty/);
  });
});
