import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { chooseTinyRun } from './tiny-run';
import { encodeBmp, encodeGif, encodePng, hugeBlankPng, solid } from '../src/data/testing/image-files';

const CIFAR_MINI = fileURLToPath(new URL('../../shared/data/cifar10-mini', import.meta.url));

async function openApp(page: Page, path = '/') {
  await page.goto(path);
  await expect(page.getByRole('status', { name: 'Training status' }).getByLabel('Backend', { exact: true })).not.toContainText('starting');
}

const summary = (page: Page) => page.getByRole('region', { name: 'Dataset summary' });

async function trainSteps(page: Page, steps: number) {
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect(page.getByRole('status', { name: 'Training status' })).toContainText('Training', { timeout: 90_000 });
  await expect.poll(async () => Number(await page.getByTestId('step-counter').textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(steps);
}

test('opens cifar10-mini through the folder picker, summarises it, previews augmentations and trains', async ({ page }) => {
  test.skip(!existsSync(CIFAR_MINI), `${CIFAR_MINI} is not on this machine`);
  await openApp(page);
  await chooseTinyRun(page);
  // The built-in shapes are loaded at the chosen 16 px first (the app's one-click default).
  await expect(summary(page)).toContainText('Coloured shapes');
  await expect(summary(page)).toContainText('16 px');

  // Long tasks on the page from the moment the app gets the files (Playwright's own setInputFiles
  // work comes before the change event): the page must stay responsive while the worker decodes.
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[]; changeAt: number };
    w.longTasks = [];
    w.changeAt = Infinity;
    document.querySelector('input[type=file]')?.addEventListener('change', () => (w.changeAt = performance.now()), { capture: true });
    new PerformanceObserver((list) => list.getEntries().forEach((e) => e.startTime >= w.changeAt && w.longTasks.push(e.duration))).observe({ type: 'longtask', buffered: false });
  });
  const started = Date.now();
  await page.getByLabel('Image folder').setInputFiles(CIFAR_MINI);
  await expect(summary(page)).toContainText('6,000 images · 10 classes · 16 px', { timeout: 120_000 });
  const pickToSummaryMs = Date.now() - started;
  await expect(summary(page)).toContainText('5,000 train · 1,000 held out for kNN');
  await expect(summary(page)).toContainText('airplane (600)');
  await expect(summary(page).getByText('Skipped')).toBeVisible();
  const loadedIn = await summary(page).locator('dd').filter({ hasText: 'of pixels' }).textContent();
  const page_ = await page.evaluate(() => ({
    longTasks: (window as unknown as { longTasks: number[] }).longTasks,
    heap: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null,
  }));

  // The preview shows dataset images and both views; changing a setting redraws it.
  const preview = page.getByRole('group', { name: 'Augmentation preview' });
  await expect(preview.getByRole('img', { name: 'Image 1 (airplane), view 2' })).toBeVisible();
  await expect(preview.getByRole('img')).toHaveCount(24);
  const before = Number(await preview.getAttribute('data-preview-id'));
  const flip = page.getByLabel('Flip probability, view 1');
  await flip.fill('1');
  await flip.press('Enter');
  await expect.poll(async () => Number(await preview.getAttribute('data-preview-id'))).toBeGreaterThan(before);

  await trainSteps(page, 3);
  await expect(summary(page)).toContainText('on the device');
  const deviceText = await summary(page).locator('dd').filter({ hasText: 'on the device' }).textContent();

  // While training: a setting change reaches the run and redraws the preview.
  const duringRun = Number(await preview.getAttribute('data-preview-id'));
  const solarise = page.getByLabel('Solarise probability, view 2');
  await solarise.fill('0.5');
  await solarise.press('Enter');
  await expect.poll(async () => Number(await preview.getAttribute('data-preview-id'))).toBeGreaterThan(duringRun);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.getByRole('button', { name: 'Pause' }).click();

  console.log(
    `cifar10-mini (6,000 PNG files) at 16 px: folder picked → summary ${pickToSummaryMs} ms; worker: ${loadedIn}; ` +
      `training: ${deviceText}; page JS heap ${page_.heap === null ? 'n/a' : `${(page_.heap / 2 ** 20).toFixed(1)} MB`}; ` +
      `page long tasks (> 50 ms) after the files arrive: ${page_.longTasks.length} (longest ${Math.round(Math.max(0, ...page_.longTasks))} ms)`,
  );
});

test('decoding cifar10-mini shows counts and can be cancelled; then measures it at 32 px', async ({ page }) => {
  test.skip(!existsSync(CIFAR_MINI), `${CIFAR_MINI} is not on this machine`);
  // The test above measured 16 px (the quick setup); a link asks for 32 px.
  await openApp(page, '/?method=byol&imageSize=32');
  await expect(summary(page)).toContainText('Coloured shapes: 1,500 images · 6 classes · 32 px');

  await page.getByLabel('Image folder').setInputFiles(CIFAR_MINI);
  const progress = page.getByRole('progressbar');
  await expect(page.getByText(/Decoding cifar10-mini at 32 px/)).toBeVisible({ timeout: 60_000 });
  await expect.poll(async () => Number(await progress.getAttribute('aria-valuenow')), { timeout: 60_000 }).toBeGreaterThan(0);
  await expect(page.getByLabel('Images decoded')).toContainText(/^[\d,]+ \/ 6,000$/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('alert')).toContainText('Loading was cancelled; the previous dataset is still selected.');
  await expect(progress).toHaveCount(0);
  await expect(summary(page)).toContainText('Coloured shapes: 1,500 images');
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeEnabled();

  const started = Date.now();
  await page.getByLabel('Image folder').setInputFiles(CIFAR_MINI);
  await expect(summary(page)).toContainText('6,000 images · 10 classes · 32 px', { timeout: 120_000 });
  const pickToSummaryMs = Date.now() - started;
  const loadedIn = await summary(page).locator('dd').filter({ hasText: 'of pixels' }).textContent();
  const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null);
  console.log(`cifar10-mini at 32 px: folder picked → summary ${pickToSummaryMs} ms; worker: ${loadedIn}; page JS heap ${heap === null ? 'n/a' : `${(heap / 2 ** 20).toFixed(1)} MB`}`);
});

test('a folder of bad files: each is skipped with its reason and the rest trains', async ({ page }) => {
  await openApp(page);
  // JPEG and WebP come from the browser's own encoders; the other formats are written in Node.
  const encoded = await page.evaluate(async () => {
    const make = async (type: string, colour: string, width: number, height: number) => {
      const canvas = new OffscreenCanvas(width, height);
      const context = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
      context.fillStyle = colour;
      context.fillRect(0, 0, width, height);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type, quality: 0.9 })).arrayBuffer());
      return Array.from(bytes);
    };
    return {
      jpegRed: await make('image/jpeg', 'rgb(220, 40, 40)', 40, 24),
      jpegBlue: await make('image/jpeg', 'rgb(40, 40, 220)', 24, 40),
      webpRed: await make('image/webp', 'rgb(220, 40, 40)', 20, 20),
      webpBlue: await make('image/webp', 'rgb(40, 40, 220)', 20, 20),
    };
  });
  const root = mkdtempSync(join(tmpdir(), 'bad-folder-'));
  try {
    const folder = join(root, 'messy');
    for (const name of ['red', 'blue']) mkdirSync(join(folder, name), { recursive: true });
    const write = (path: string, bytes: Uint8Array | string) => writeFileSync(join(folder, path), bytes);
    for (const [name, rgb] of [['red', [220, 40, 40]], ['blue', [40, 40, 220]]] as const) {
      for (let i = 0; i < 8; i++) write(`${name}/${i}.png`, encodePng(20, 20, solid(20, 20, [rgb[0], rgb[1], rgb[2], 255]), 2));
      write(`${name}/gray.png`, encodePng(20, 20, solid(20, 20, [128, 128, 128, 255]), 0));
      write(`${name}/alpha.png`, encodePng(20, 20, solid(20, 20, [rgb[0], rgb[1], rgb[2], 100]), 6));
      write(`${name}/image.bmp`, encodeBmp(24, 16, solid(24, 16, [rgb[0], rgb[1], rgb[2], 255]).filter((_, i) => i % 4 !== 3)));
      write(`${name}/animated.gif`, encodeGif(20, 20, [[rgb[0], rgb[1], rgb[2]], [0, 0, 0]]));
    }
    write('red/photo.jpg', Uint8Array.from(encoded.jpegRed));
    write('blue/photo.jpg', Uint8Array.from(encoded.jpegBlue));
    write('red/photo.webp', Uint8Array.from(encoded.webpRed));
    write('blue/photo.webp', Uint8Array.from(encoded.webpBlue));
    write('red/tiny.png', encodePng(1, 1, solid(1, 1, [220, 40, 40, 255])));
    write('red/corrupt.png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 200 }, (_, i) => (i * 7) % 256)]));
    write('blue/empty.png', new Uint8Array(0));
    write('blue/notes.txt', 'this is not an image');
    write('blue/fake.jpg', 'text pretending to be a JPEG');
    write('red/huge.png', hugeBlankPng(10_000, 10_000));
    write('.hidden.png', encodePng(2, 2, solid(2, 2, [0, 0, 0, 255])));

    await chooseTinyRun(page);
    await expect(summary(page)).toContainText('16 px');
    await page.getByLabel('Image folder').setInputFiles(folder);
    // 2 classes × (8 PNG + gray + alpha + BMP + GIF + JPEG + WebP) + the 1 × 1 PNG = 29 images.
    await expect(summary(page)).toContainText('29 images · 2 classes · 16 px', { timeout: 60_000 });
    const skipped = summary(page).getByRole('list', { name: 'Skipped files' });
    await expect(skipped).toContainText('corrupt (the image could not be decoded)');
    await expect(skipped).toContainText('empty file (0 bytes)');
    await expect(skipped).toContainText('not an image (unsupported file type)');
    await expect(skipped).toContainText('not an image (its content is not PNG, JPEG, WebP, GIF or BMP)');
    await expect(skipped).toContainText('too large to decode (over 50 megapixels)');
    await expect(summary(page)).toContainText('6 files');
    await skipped.getByText('too large to decode').click();
    await expect(skipped).toContainText('red/huge.png — 10000×10000 pixels');
    await expect(summary(page)).toContainText('1 image is smaller than 16 px and was enlarged');

    await trainSteps(page, 2);
    await page.getByRole('button', { name: 'Pause' }).click();

    // An empty folder is refused with a message and the loaded folder stays.
    const empty = join(root, 'nothing-here');
    mkdirSync(empty);
    await page.getByLabel('Image folder').setInputFiles(empty);
    await expect(page.getByRole('alert')).toContainText('empty');
    await expect(summary(page)).toContainText('29 images');

    // A folder in which nothing decodes is refused with the reasons, and the loaded folder stays.
    const hopeless = join(root, 'hopeless');
    mkdirSync(hopeless);
    writeFileSync(join(hopeless, 'a.png'), 'not really');
    writeFileSync(join(hopeless, 'b.txt'), 'text');
    await page.getByLabel('Image folder').setInputFiles(hopeless);
    await expect(page.getByRole('alert')).toContainText('No image in this folder could be decoded');
    await expect(page.getByRole('region', { name: 'Rejected folder summary' })).toContainText('not an image');
    await expect(summary(page)).toContainText('29 images');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('MNIST is one click away, served by the app itself', async ({ page }) => {
  await openApp(page);
  const mnistRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('mnist')) mnistRequests.push(request.url());
  });
  await page.getByRole('radio', { name: /MNIST digits/ }).click();
  await expect(summary(page)).toContainText('MNIST digits: 10,000 images · 10 classes · 32 px');
  await expect(summary(page)).toContainText('8,000 train · 2,000 held out for kNN');
  await expect(page.getByRole('radio', { name: /MNIST digits/ })).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByRole('group', { name: 'Augmentation preview' }).getByRole('img', { name: 'Image 3 (2), original' })).toBeVisible();
  expect(mnistRequests.length).toBeGreaterThan(0);
  expect(mnistRequests.every((url) => url.startsWith(new URL(page.url()).origin))).toBe(true);
});
