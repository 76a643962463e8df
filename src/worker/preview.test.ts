import { describe, expect, it } from 'vitest';
import { IDENTITY_VIEW } from '../engine/augment';
import type { ImageSet } from '../engine/dataset';
import { tinyData } from '../engine/testing/tiny';
import { previewIndices, renderPreview } from './preview';

describe('previewIndices', () => {
  it('takes one image per class in turn, then spreads evenly without labels', () => {
    const labelled: ImageSet = { count: 7, size: 1, pixels: new Uint8Array(21), labels: Int32Array.from([2, 0, 0, 1, 2, 0, 1]) };
    expect(previewIndices(labelled, 5)).toEqual([1, 3, 0, 2, 6]);
    expect(previewIndices(labelled, 50)).toHaveLength(7);
    expect(previewIndices({ ...labelled, labels: null }, 3)).toEqual([0, 2, 4]);
  });
});

describe('renderPreview', () => {
  it('returns each image as stored (identity views reproduce it) as RGBA, with its class name', async () => {
    const data = tinyData(24, 8);
    const preview = await renderPreview(data, { id: 5, augmentations: [IDENTITY_VIEW, IDENTITY_VIEW], imageSize: 8, count: 4, seed: 1 });
    expect(preview.id).toBe(5);
    expect(preview.images).toHaveLength(4);
    preview.images.forEach((image, i) => {
      const index = previewIndices(data.train, 4)[i];
      expect(image.label).toBe(data.classNames[data.train.labels![index]]);
      for (const rgba of [image.original, ...image.views]) {
        for (let p = 0; p < 64; p++) {
          for (let c = 0; c < 3; c++) expect(rgba[p * 4 + c]).toBe(data.train.pixels[index * 192 + p * 3 + c]);
          expect(rgba[p * 4 + 3]).toBe(255);
        }
      }
    });
  });
});
