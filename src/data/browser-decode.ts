/**
 * Decodes image files in a worker with the browser's own codecs: createImageBitmap (PNG, JPEG,
 * WebP, GIF first frame, BMP; EXIF orientation and colour profiles applied), then the largest
 * centred square resized with the browser's high-quality filter, drawn over a white background
 * (transparent pixels show white, as in image viewers; see ALPHA_BACKGROUND) and read back as RGB.
 */
import type { DecodedImage, ImageDecoder } from './folder-loader';
import { ALPHA_BACKGROUND, centreSquare } from './resample';

export function createBrowserDecoder(): ImageDecoder {
  let canvas: OffscreenCanvas | null = null;
  let context: OffscreenCanvasRenderingContext2D | null = null;
  const background = `rgb(${ALPHA_BACKGROUND}, ${ALPHA_BACKGROUND}, ${ALPHA_BACKGROUND})`;

  return async (file: Blob, size: number): Promise<DecodedImage> => {
    const bitmap = await createImageBitmap(file);
    let resized: ImageBitmap | null = null;
    try {
      const { width, height } = bitmap;
      if (width === 0 || height === 0) throw new Error('The image has no pixels.');
      const crop = centreSquare(width, height);
      if (crop.side !== size) resized = await createImageBitmap(bitmap, crop.x, crop.y, crop.side, crop.side, { resizeWidth: size, resizeHeight: size, resizeQuality: 'high' });
      if (!canvas || canvas.width !== size) {
        canvas = new OffscreenCanvas(size, size);
        context = canvas.getContext('2d', { willReadFrequently: true });
        if (!context) throw new Error('This browser has no 2D canvas in workers.');
      }
      const ctx = context as OffscreenCanvasRenderingContext2D;
      // Fill, draw and read run without an await between them, so concurrent decodes can share the canvas.
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, size, size);
      if (resized) ctx.drawImage(resized, 0, 0);
      else ctx.drawImage(bitmap, crop.x, crop.y, size, size, 0, 0, size, size);
      const rgba = ctx.getImageData(0, 0, size, size).data;
      const pixels = new Uint8Array(size * size * 3);
      for (let i = 0, o = 0; o < pixels.length; i += 4, o += 3) {
        pixels[o] = rgba[i];
        pixels[o + 1] = rgba[i + 1];
        pixels[o + 2] = rgba[i + 2];
      }
      return { pixels, width, height };
    } finally {
      bitmap.close();
      resized?.close();
    }
  };
}
