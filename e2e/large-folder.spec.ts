import { expect, test } from '@playwright/test';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Long tasks of the page, and the memory of the page and its workers (measureUserAgentSpecificMemory, cross-origin isolated pages). */
const WATCH_PAGE = `window.longTasks = [];
new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longTasks.push(entry.duration); }).observe({ type: 'longtask', buffered: true });`;

test('a CIFAR-10-sized folder (51,000 images) at 32 px: progress, a page that never blocks for 200 ms, and memory near the packed pixels', async ({ page }) => {
  // Minutes long, and the targets are not met yet (docs/reliability.md): run on request, E2E_LARGE_FOLDER=1.
  test.skip(!process.env.E2E_LARGE_FOLDER, 'the CIFAR-10-sized folder runs with E2E_LARGE_FOLDER=1');
  test.skip(!existsSync(CIFAR_MINI), `${CIFAR_MINI} is not on this machine`);
  test.setTimeout(600_000);
  const folder = cifarSizedFolder();
  try {
    await page.addInitScript(WATCH_PAGE);
    await page.goto('/?method=byol&imageSize=32');
    await expect(page.getByRole('status', { name: 'Training status' }).getByLabel('Backend', { exact: true })).not.toContainText('starting');
    const summary = page.getByRole('region', { name: 'Dataset summary' });
    await expect(summary).toContainText('Coloured shapes');
    const memory = async () => Number(await page.evaluate('performance.measureUserAgentSpecificMemory().then((m) => m.bytes)'));
    const before = await memory();
    const started = Date.now();
    await page.getByLabel('Image folder').setInputFiles(folder);
    await expect(page.getByRole('progressbar')).toBeVisible({ timeout: 120_000 });
    const samples: number[] = [];
    while (!((await summary.textContent()) ?? '').includes('51,000 images')) {
      samples.push(await memory());
      if (Date.now() - started > 540_000) break;
    }
    await expect(summary).toContainText('51,000 images · 10 classes · 32 px');
    const loadMs = Date.now() - started;
    const after = await memory();
    const longTasks = (await page.evaluate('window.longTasks')) as number[];
    const packed = 51_000 * 32 * 32 * 3;
    const peak = Math.max(after, ...samples) - before;
    console.log(
      `51,000 images at 32 px: picked → summary ${(loadMs / 1000).toFixed(1)} s; packed pixels ${(packed / 2 ** 20).toFixed(1)} MB; ` +
        `page + workers memory over the app's before loading: peak ${(peak / 2 ** 20).toFixed(1)} MB (${samples.length} samples), after ${((after - before) / 2 ** 20).toFixed(1)} MB; ` +
        `page long tasks: ${longTasks.length}, longest ${Math.round(Math.max(0, ...longTasks))} ms`,
    );
    expect(Math.max(0, ...longTasks)).toBeLessThanOrEqual(200);
    expect(peak).toBeLessThanOrEqual(2 * packed);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
