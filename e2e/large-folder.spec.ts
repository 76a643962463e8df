import { expect, test, type Page } from '@playwright/test';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECODE_PIXEL_BUDGET } from '../src/data/folder-loader';
import { chromiumArgs, chromiumPath } from '../src/runner/chromium-flags';

const CIFAR_MINI = fileURLToPath(new URL('../../shared/data/cifar10-mini', import.meta.url));
/** CIFAR-10's size: 5,000 training images a class (cifar10-mini's 500 each, ten times under other names), its 1,000 test images as they are. */
const COPIES = 10;

/** A hard link where the file system allows (the browser's folder picker skips symbolic links), else a copy. */
function link(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function cifarSizedFolder(): string {
  const root = join(tmpdir(), `cifar10-50k-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  for (const split of ['train', 'test']) {
    for (const label of readdirSync(join(CIFAR_MINI, split))) {
      const to = join(root, split, label);
      mkdirSync(to, { recursive: true });
      for (const name of readdirSync(join(CIFAR_MINI, split, label))) {
        for (let copy = 0; copy < (split === 'train' ? COPIES : 1); copy++) link(join(CIFAR_MINI, split, label, name), join(to, `${copy}-${name}`));
      }
    }
  }
  return root;
}

/**
 * The page's long tasks (start, duration), and when the folder input's files reached the page: the
 * browser makes one File object per file on the page's thread before it fires the input's events, a
 * task no page code runs in and no page can split (the File System Access picker has no such task).
 */
const WATCH_PAGE = `window.longTasks = [];
new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longTasks.push([entry.startTime, entry.duration]); }).observe({ type: 'longtask', buffered: true });
window.addEventListener('input', (event) => { if (event.target instanceof HTMLInputElement && event.target.type === 'file') window.filesArrivedAt ??= performance.now(); }, true);`;

interface PageBlocking {
  /** Longest stretch of the page's own work after the pick, in ms. */
  longestPageTask: number;
  /** Long tasks after the pick. */
  count: number;
  /** The browser's making of the File list, before the page got the files, in ms. */
  fileListCreation: number;
}

/**
 * The long tasks after `pickedAt`, less the browser's File list creation in the task that delivered
 * the files; tasks `skip` names are left out.
 */
async function pageBlocking(page: Page, pickedAt: number, skip: (task: [number, number]) => boolean = () => false): Promise<PageBlocking> {
  const { tasks, arrivedAt } = (await page.evaluate('({ tasks: window.longTasks, arrivedAt: window.filesArrivedAt })')) as { tasks: [number, number][]; arrivedAt: number };
  let longestPageTask = 0;
  let fileListCreation = 0;
  const after = tasks.filter(([start, duration]) => start + duration > pickedAt && !skip([start, duration]));
  for (const [start, duration] of after) {
    const delivered = start <= arrivedAt && arrivedAt <= start + duration;
    if (delivered) fileListCreation = arrivedAt - start;
    longestPageTask = Math.max(longestPageTask, delivered ? start + duration - arrivedAt : duration);
  }
  return { longestPageTask, count: after.length, fileListCreation };
}

/**
 * Bytes the page and the training worker hold (JavaScript heaps and the ArrayBuffers they own), from
 * the browser's memory measurement; the WebAssembly backend's thread workers share one memory, which
 * the measurement counts once per thread, and they play no part in loading.
 */
async function pageAndWorkerBytes(page: Page): Promise<number> {
  // Each measurement's page time is kept in window.memoryWindows, to tell its garbage collection from the page's own work.
  const breakdown = (await page.evaluate(`(async () => {
    const from = performance.now();
    const { breakdown } = await performance.measureUserAgentSpecificMemory();
    (window.memoryWindows ??= []).push([from, performance.now()]);
    return breakdown;
  })()`)) as { bytes: number; attribution: { url: string; scope: string }[] }[];
  return breakdown.filter((b) => b.attribution.some((a) => a.scope === 'Window' || a.url.includes('training.worker'))).reduce((n, b) => n + b.bytes, 0);
}

// Memory is measured at once rather than at the next garbage collection (up to 20 s later).
test.use({ launchOptions: { executablePath: chromiumPath(), args: [...chromiumArgs(), '--enable-blink-features=ForceEagerMeasureMemory'] } });

/**
 * The files of `folder` packed into one buffer, each with its path and where its bytes lie, for a page
 * to unpack. Hard links of one file share their bytes: the browser closes on a response of the whole
 * 51,000 files' size handed over by the test.
 */
function packFolder(folder: string): { bytes: Buffer; index: { path: string; offset: number; length: number }[] } {
  const parts: Buffer[] = [];
  const index: { path: string; offset: number; length: number }[] = [];
  const byInode = new Map<number, { offset: number; length: number }>();
  let offset = 0;
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = `${prefix}/${name.name}`;
      if (name.isDirectory()) {
        walk(join(dir, name.name), path);
        continue;
      }
      const file = join(dir, name.name);
      const inode = statSync(file).ino;
      let at = byInode.get(inode);
      if (!at) {
        const data = readFileSync(file);
        at = { offset, length: data.length };
        byInode.set(inode, at);
        parts.push(data);
        offset += data.length;
      }
      index.push({ path, ...at });
    }
  };
  walk(folder, '');
  return { bytes: Buffer.concat(parts), index };
}

/**
 * Writes the packed folder into the origin's private file system (a real FileSystemDirectoryHandle)
 * from a worker, and makes the page's folder picker return it: the File System Access path of
 * **Open folder…**, which a test cannot reach through the browser's own dialog.
 */
const FOLDER_INTO_OPFS = `(async ({ name, index }) => {
  const bytes = await (await fetch('/__e2e/folder.bin')).arrayBuffer();
  const worker = new Worker(URL.createObjectURL(new Blob([\`onmessage = async ({ data: { name, index, bytes } }) => {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry(name, { recursive: true }).catch(() => {});
    const top = await root.getDirectoryHandle(name, { create: true });
    const dirs = new Map();
    for (const { path, offset, length } of index) {
      const parts = path.split('/').filter(Boolean);
      const file = parts.pop();
      const key = parts.join('/');
      let dir = dirs.get(key);
      if (!dir) {
        dir = top;
        for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
        dirs.set(key, dir);
      }
      const handle = await (await dir.getFileHandle(file, { create: true })).createSyncAccessHandle();
      handle.write(new Uint8Array(bytes, offset, length), { at: 0 });
      handle.close();
    }
    postMessage('written');
  };\`], { type: 'text/javascript' })));
  await new Promise((resolve, reject) => {
    worker.onmessage = resolve;
    worker.onerror = reject;
    worker.postMessage({ name, index, bytes }, [bytes]);
  });
  worker.terminate();
  const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle(name);
  window.showDirectoryPicker = async () => folder;
})`;

interface FolderLoad {
  loadMs: number;
  /** Page and training worker memory over theirs before loading, in bytes: the peak and after. */
  peak: number;
  after: number;
  samples: number;
  residentPeak: number;
  blocking: PageBlocking;
  /** Long tasks after the pick that overlap one of the test's own forced memory measurements. */
  duringMeasurement: number;
  /** The page's longest long task after the pick that overlaps none of them, in ms (as `blocking`'s). */
  longestOutsideMeasurement: number;
}

/**
 * Picks the CIFAR-sized folder with `pick`, waits for its summary and measures the load: time, the
 * page and worker's memory (sampled every 250 ms, each sample a forced measurement with a full
 * garbage collection, whose page time is recorded so that long tasks can be told apart from it) and
 * the page's long tasks after the pick.
 */
async function loadCifarSized(page: Page, pick: () => Promise<void>): Promise<FolderLoad> {
  await expect(page.getByRole('status', { name: 'Training status' }).getByLabel('Backend', { exact: true })).not.toContainText('starting');
  const summary = page.getByRole('region', { name: 'Dataset summary' });
  await expect(summary).toContainText('Coloured shapes');
  const before = await pageAndWorkerBytes(page);
  const residentBefore = browserResidentBytes();
  const pickedAt = Number(await page.evaluate('performance.now()'));
  const started = Date.now();
  await pick();
  await expect(page.getByRole('progressbar')).toBeVisible({ timeout: 120_000 });
  const samples: number[] = [];
  const resident: number[] = [];
  while (!((await summary.textContent()) ?? '').includes('51,000 images')) {
    samples.push(await pageAndWorkerBytes(page));
    resident.push(browserResidentBytes());
    await page.waitForTimeout(250);
    if (Date.now() - started > 540_000) break;
  }
  await expect(summary).toContainText('51,000 images · 10 classes · 32 px');
  const loadMs = Date.now() - started;
  const after = await pageAndWorkerBytes(page);
  const blocking = await pageBlocking(page, pickedAt);
  const windows = (await page.evaluate('window.memoryWindows')) as [number, number][];
  const overlapsMeasurement = ([start, duration]: [number, number]) => windows.some(([from, to]) => start < to && start + duration > from);
  const outside = await pageBlocking(page, pickedAt, overlapsMeasurement);
  return {
    loadMs,
    peak: Math.max(after, ...samples) - before,
    after: after - before,
    samples: samples.length,
    residentPeak: Math.max(...resident) - residentBefore,
    blocking,
    duringMeasurement: blocking.count - outside.count,
    longestOutsideMeasurement: outside.longestPageTask,
  };
}

function describeLoad(how: string, load: FolderLoad, packed: number): string {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return (
    `51,000 images at 32 px, ${how}: picked → summary ${(load.loadMs / 1000).toFixed(1)} s; packed pixels ${mb(packed)} MB; ` +
    `page + training worker memory over theirs before loading: peak ${mb(load.peak)} MB (${load.samples} samples), after ${mb(load.after)} MB; ` +
    `the browser's resident memory over its own before: peak ${mb(load.residentPeak)} MB; ` +
    `page long tasks after the pick: ${load.blocking.count} (${load.duringMeasurement} overlapping the test's forced memory measurements), ` +
    `the page's longest ${Math.round(load.blocking.longestPageTask)} ms, the longest outside those measurements ${Math.round(load.longestOutsideMeasurement)} ms; ` +
    `the browser's File list creation before the page got the files: ${Math.round(load.blocking.fileListCreation)} ms`
  );
}

const PACKED_CIFAR_SIZED = 51_000 * 32 * 32 * 3;

test('a CIFAR-10-sized folder (51,000 images) at 32 px: progress, a page that never blocks for 200 ms, and memory near the packed pixels', async ({ page }) => {
  // Minutes long: run on request, E2E_LARGE_FOLDER=1.
  test.skip(!process.env.E2E_LARGE_FOLDER, 'the CIFAR-10-sized folder runs with E2E_LARGE_FOLDER=1');
  test.skip(!existsSync(CIFAR_MINI), `${CIFAR_MINI} is not on this machine`);
  test.setTimeout(600_000);
  const folder = cifarSizedFolder();
  try {
    await page.addInitScript(WATCH_PAGE);
    await page.goto('/?method=byol&imageSize=32');
    const load = await loadCifarSized(page, () => page.getByLabel('Image folder').setInputFiles(folder));
    console.log(describeLoad('through the folder input', load, PACKED_CIFAR_SIZED));
    expect(load.blocking.longestPageTask).toBeLessThanOrEqual(200);
    expect(load.peak).toBeLessThanOrEqual(2 * PACKED_CIFAR_SIZED);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the same folder through Open folder… (the File System Access picker): no File list task, a page that never blocks for 200 ms', async ({ page }) => {
  test.skip(!process.env.E2E_LARGE_FOLDER, 'the CIFAR-10-sized folder runs with E2E_LARGE_FOLDER=1');
  test.skip(!existsSync(CIFAR_MINI), `${CIFAR_MINI} is not on this machine`);
  test.setTimeout(900_000);
  const folder = cifarSizedFolder();
  try {
    const { bytes, index } = packFolder(folder);
    await page.route('**/__e2e/folder.bin', (route) => route.fulfill({ body: bytes, contentType: 'application/octet-stream' }));
    await page.addInitScript(WATCH_PAGE);
    await page.goto('/?method=byol&imageSize=32');
    await page.evaluate(`${FOLDER_INTO_OPFS}(${JSON.stringify({ name: 'cifar10-50k', index })})`);
    const load = await loadCifarSized(page, () => page.getByRole('button', { name: 'Open folder…' }).click());
    console.log(describeLoad('through Open folder… (the File System Access picker)', load, PACKED_CIFAR_SIZED));
    expect(load.blocking.fileListCreation).toBe(0);
    expect(load.blocking.longestPageTask).toBeLessThanOrEqual(200);
    expect(load.peak).toBeLessThanOrEqual(2 * PACKED_CIFAR_SIZED);
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await page.evaluate('navigator.storage.getDirectory().then((root) => root.removeEntry("cifar10-50k", { recursive: true })).catch(() => {})').catch(() => {});
  }
});

/**
 * Resident memory of the browser this test drives: every process descended from this test's own
 * (Linux /proc). Decoded images live in the browser's native memory, which the page's memory API does not count.
 */
function browserResidentBytes(): number {
  const parents = new Map<number, number>();
  const resident = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      parents.set(pid, Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]));
      resident.set(pid, Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // The process ended while the table was read.
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, bytes] of resident) if (descends(pid)) total += bytes;
  return total;
}

/** Distinct photo-like 12-megapixel JPEGs (4000 × 3000: gradients, shapes and grain), encoded by the browser itself. */
const MAKE_PHOTO = `(async (seed) => {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const canvas = new OffscreenCanvas(4000, 3000);
  const ctx = canvas.getContext('2d');
  const sky = ctx.createLinearGradient(0, 0, 0, 3000);
  sky.addColorStop(0, 'hsl(' + Math.floor(random() * 360) + ', 60%, 70%)');
  sky.addColorStop(1, 'hsl(' + Math.floor(random() * 360) + ', 40%, 30%)');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, 4000, 3000);
  for (let i = 0; i < 400; i++) {
    ctx.fillStyle = 'hsla(' + Math.floor(random() * 360) + ', 50%, ' + Math.floor(20 + random() * 60) + '%, 0.6)';
    ctx.beginPath();
    ctx.ellipse(random() * 4000, random() * 3000, 20 + random() * 400, 20 + random() * 300, random() * 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  const grain = ctx.getImageData(0, 0, 4000, 3000);
  for (let i = 0; i < grain.data.length; i += 4) {
    const n = (random() - 0.5) * 24;
    grain.data[i] += n;
    grain.data[i + 1] += n;
    grain.data[i + 2] += n;
  }
  ctx.putImageData(grain, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
})`;

test('2,000 photos of 12 megapixels (about 5 GB): decoded a few at a time, in bounded memory, with progress and the same summary', async ({ page }) => {
  // Minutes long: run on request, E2E_PHOTOS=1 (or E2E_PHOTOS=<count> for fewer).
  test.skip(!process.env.E2E_PHOTOS, 'the folder of 12-megapixel photos runs with E2E_PHOTOS=1');
  test.setTimeout(1_800_000);
  const count = Number(process.env.E2E_PHOTOS) > 1 ? Number(process.env.E2E_PHOTOS) : 2000;
  const classes = 4;
  const distinct = 6;
  const root = join(tmpdir(), `photos-12mp-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  try {
    await page.goto('/?method=byol&imageSize=32');
    // A dozen distinct photos, hard-linked under many names (the browser reads and decodes every file).
    const photos: string[] = [];
    for (let i = 0; i < distinct; i++) photos.push(join(root, `source-${i}.jpg`));
    mkdirSync(root, { recursive: true });
    let folderBytes = 0;
    for (const [i, path] of photos.entries()) {
      const bytes = Buffer.from(String(await page.evaluate(`${MAKE_PHOTO}(${i + 1})`)), 'base64');
      writeFileSync(path, bytes);
      folderBytes += bytes.length * Math.ceil(count / distinct);
    }
    const folder = join(root, 'photos');
    for (let i = 0; i < count; i++) {
      const dir = join(folder, `class${i % classes}`);
      mkdirSync(dir, { recursive: true });
      link(photos[i % distinct], join(dir, `${i}.jpg`));
    }

    await page.addInitScript(WATCH_PAGE);
    await page.reload();
    await expect(page.getByRole('status', { name: 'Training status' }).getByLabel('Backend', { exact: true })).not.toContainText('starting');
    const summary = page.getByRole('region', { name: 'Dataset summary' });
    await expect(summary).toContainText('Coloured shapes');
    const before = browserResidentBytes();
    const pickedAt = Number(await page.evaluate('performance.now()'));
    const started = Date.now();
    await page.getByLabel('Image folder').setInputFiles(folder);
    await expect(page.getByRole('progressbar')).toBeVisible({ timeout: 120_000 });
    const samples: number[] = [];
    const expected = `${count.toLocaleString('en-US')} images · ${classes} classes · 32 px`;
    while (!((await summary.textContent()) ?? '').includes(expected)) {
      samples.push(browserResidentBytes());
      await page.waitForTimeout(250);
      if (Date.now() - started > 1_700_000) break;
    }
    await expect(summary).toContainText(expected);
    const loadMs = Date.now() - started;
    const after = browserResidentBytes();
    const blocking = await pageBlocking(page, pickedAt);
    const packed = count * 32 * 32 * 3;
    const peak = Math.max(after, ...samples) - before;
    // RGBA at full size: what the decodes in flight may hold at once.
    const inFlight = DECODE_PIXEL_BUDGET * 4;
    console.log(
      `${count} photos of 12 MP (${(folderBytes / 2 ** 30).toFixed(2)} GB of JPEG) at 32 px: picked → summary ${(loadMs / 1000).toFixed(1)} s ` +
        `(${((count / loadMs) * 1000).toFixed(1)} photos/s); the browser's resident memory over its own before loading: peak ${(peak / 2 ** 20).toFixed(1)} MB ` +
        `(${samples.length} samples), after ${((after - before) / 2 ** 20).toFixed(1)} MB; full-size pixels allowed in flight ${(inFlight / 2 ** 20).toFixed(0)} MB; ` +
        `page long tasks after the pick: ${blocking.count}, the page's longest ${Math.round(blocking.longestPageTask)} ms; ` +
        `the browser's File list creation before the page got the files: ${Math.round(blocking.fileListCreation)} ms`,
    );
    expect(peak).toBeLessThanOrEqual(2 * (packed + inFlight));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
