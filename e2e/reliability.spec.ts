import { expect, test, type Page } from '@playwright/test';
import { chooseTinyRun, commit, stepCount, trainThenPause } from './tiny-run';

/**
 * Opens the app with the diagnostics panel on `backend`, sets it up, trains `steps` steps and pauses,
 * which writes a checkpoint; the training status, the saved run's list entry and the checkpoint's step.
 */
async function checkpointedRun(page: Page, backend: 'wasm' | 'webgpu', steps: number, options: { setup?: () => Promise<void>; timeout?: number } = {}) {
  await page.goto(`/?diagnostics&backend=${backend}`);
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText(backend === 'wasm' ? 'WebAssembly' : 'WebGPU');
  await options.setup?.();
  const checkpointStep = await trainThenPause(page, steps, options.timeout);
  const saved = page.getByRole('list', { name: 'Saved runs' }).getByRole('listitem');
  await expect(saved).toContainText(`checkpoint at step ${checkpointStep}`);
  return { status, saved, checkpointStep };
}

test('a dead training worker is noticed within 2 s, replaced, and the run resumes from its last checkpoint with its charts', async ({ page }) => {
  // A pause writes a checkpoint; the steps after it are what a crash may lose.
  const { status, saved, checkpointStep } = await checkpointedRun(page, 'wasm', 3);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(checkpointStep + 3);
  const lossChart = page.getByRole('figure', { name: 'Loss' });

  const notice = page.getByRole('alert', { name: 'Training worker stopped' });
  // Timed in the page, from the crash to the notice on screen.
  const detectedMs = await page.evaluate(`new Promise((resolve) => {
    const stopped = performance.now();
    new MutationObserver((_, observer) => {
      if (!document.querySelector('[role="alert"][aria-label="Training worker stopped"]')) return;
      observer.disconnect();
      resolve(performance.now() - stopped);
    }).observe(document.body, { childList: true, subtree: true });
    [...document.querySelectorAll('button')].find((b) => b.textContent === 'Stop the training worker').click();
  })`);
  expect(detectedMs).toBeLessThan(2000);
  await expect(notice).toBeVisible();
  const diedAt = await stepCount(page);
  await expect(notice).toContainText(`stopped at step ${diedAt}`);
  await expect(notice).toContainText(`Its last checkpoint is step ${checkpointStep}: ${diedAt - checkpointStep} steps lost.`);
  // The charts keep their history until the resume.
  expect(Number(await lossChart.getAttribute('data-point-count'))).toBeGreaterThanOrEqual(diedAt - 1);
  await expect(saved).toContainText(`failed · step ${diedAt}`);
  console.log(`training worker stopped at step ${diedAt}: noticed in ${Math.round(Number(detectedMs))} ms; checkpoint at step ${checkpointStep}, ${diedAt - checkpointStep} steps lost`);

  // The new worker has the dataset and a backend; one click resumes from the checkpoint.
  await notice.getByRole('button', { name: `Resume from step ${checkpointStep}` }).click();
  await expect(status).toContainText(`at step ${checkpointStep}`);
  await expect(notice).toHaveCount(0);
  await expect(lossChart).toHaveAttribute('data-point-count', String(checkpointStep));
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThan(checkpointStep + 1);
});

test('a lost WebGPU device is noticed, the backend restarts and the run resumes by itself from its last checkpoint', async ({ page }) => {
  // The emulated GPU compiles the kernels twice: for the run and again in the new worker.
  test.setTimeout(600_000);
  const { status, checkpointStep } = await checkpointedRun(page, 'webgpu', 2, {
    // SimCLR: the fewest kernels to compile on the emulated GPU, which the new worker compiles again.
    setup: async () => {
      await page.getByLabel('Method').selectOption('simclr');
      await chooseTinyRun(page);
    },
    timeout: 180_000,
  });
  const backend = status.getByLabel('Backend', { exact: true });
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(checkpointStep + 2);

  await page.getByRole('button', { name: 'Simulate GPU device loss' }).click();
  const lostAt = Date.now();
  const notice = page.getByRole('alert', { name: 'GPU device lost' });
  await expect(notice).toContainText('The GPU device was lost at step');
  const text = (await notice.textContent())!;
  const diedAt = Number(/lost at step (\d+)/.exec(text)![1]);
  expect(diedAt).toBeGreaterThanOrEqual(checkpointStep + 2);
  expect(text).toContain('the device was destroyed');
  expect(text).toContain(`resumes from the last checkpoint, step ${checkpointStep}: ${diedAt - checkpointStep} steps lost.`);
  // A new worker, WebGPU again (the device comes back), the run rebuilt at its checkpoint, then new steps without a click.
  await expect(status).toContainText(`at step ${checkpointStep}; training on.`, { timeout: 240_000 });
  await expect.poll(async () => await stepCount(page), { timeout: 240_000 }).toBeGreaterThan(checkpointStep);
  const resumedMs = Date.now() - lostAt;
  await expect(backend).toContainText('WebGPU');
  await expect(status).toContainText('Training');
  await expect(notice).toBeVisible();
  console.log(`GPU device lost at step ${diedAt}: resumed from checkpoint step ${checkpointStep} (${diedAt - checkpointStep} steps lost), first new step on screen ${resumedMs} ms after the loss`);
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toHaveCount(0);
});

test('an allocation failure mid-run pauses the run with the setting to lower; its checkpoint resumes once memory allows', async ({ page }) => {
  const { status, saved, checkpointStep } = await checkpointedRun(page, 'wasm', 3);

  // A 1 MB cap: the paused run keeps what it holds, the next step's first allocation fails.
  const cap = page.getByRole('spinbutton', { name: 'Worker memory cap (MB)' });
  await cap.fill('1');
  await page.getByRole('button', { name: 'Apply memory cap' }).click();
  await expect(page.getByRole('status', { name: 'Memory cap' })).toHaveText('The training worker may hold at most 1 MB of tensors.');
  await page.getByRole('button', { name: 'Resume' }).click();
  const notice = page.getByRole('alert', { name: 'Out of memory' });
  await expect(notice).toContainText(`Out of memory at step ${checkpointStep}: Could not allocate`);
  await expect(notice).toContainText(/Lower the batch size \(now \d+\) or the image size/);
  await expect(notice).toContainText(`Then resume from the last checkpoint, step ${checkpointStep}: 0 steps lost.`);
  await expect(saved).toContainText(`checkpoint at step ${checkpointStep}`);

  await cap.fill('');
  await page.getByRole('button', { name: 'Apply memory cap' }).click();
  await notice.getByRole('button', { name: `Resume from step ${checkpointStep}` }).click();
  await expect(status).toContainText(`at step ${checkpointStep}`);
  await expect(notice).toHaveCount(0);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThan(checkpointStep + 1);
});

test('a dead comparison worker is noticed and replaced; the comparison can start again', async ({ page }) => {
  await page.goto('/?diagnostics&backend=wasm');
  await page.getByRole('tab', { name: 'Compare' }).click();
  await page.getByRole('tabpanel', { name: 'Compare' }).getByRole('button', { name: 'Add run' }).click();
  const start = page.getByRole('toolbar', { name: 'Comparison controls' }).getByRole('button', { name: /^(Start comparison|Start again)$/ });
  await start.click();
  const status = page.getByRole('status', { name: 'Comparison status' });
  await expect(status).toContainText('Training', { timeout: 90_000 });
  await page.getByRole('tab', { name: 'Train' }).click();
  await page.getByRole('button', { name: 'Stop the comparison worker' }).click();
  await page.getByRole('tab', { name: 'Compare' }).click();
  await expect(status).toContainText('The comparison worker stopped', { timeout: 2000 });
  await start.click();
  await expect(status).toContainText('Training', { timeout: 90_000 });
});

/** Records another version of the app, or a hand edit, could leave in the saved-runs database. */
const PUT_FOREIGN_RECORDS = `new Promise((resolve, reject) => {
  const open = indexedDB.open('siamese-playground');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction(['runs'], 'readwrite');
    tx.objectStore('runs').put({ id: 'from-the-future', name: 'Saved by a newer app', format: 99 });
    tx.objectStore('runs').put({ id: 'edited', name: 'Edited by hand', format: 1, created: 1, config: 'oops' });
    tx.oncomplete = () => { open.result.close(); resolve(null); };
  };
})`;

test('unreadable saved runs are listed with the reason and can be deleted; every other run still opens', async ({ page }) => {
  await page.goto('/?backend=wasm');
  const status = page.getByRole('status', { name: 'Training status' });
  const step = await trainThenPause(page, 2);
  const runs = page.getByRole('list', { name: 'Saved runs' });
  await expect(runs.getByRole('listitem')).toContainText(`checkpoint at step ${step}`);

  await page.evaluate(PUT_FOREIGN_RECORDS);
  await page.reload();
  await expect(runs.getByRole('listitem', { name: 'Unreadable run Saved by a newer app' })).toContainText('unreadable: it was saved by a newer version of the app (format 99');
  await expect(runs.getByRole('listitem', { name: 'Unreadable run Edited by hand' })).toContainText('unreadable: it has no configuration');
  await runs.getByRole('button', { name: /^Open run / }).click();
  await expect(status).toContainText(`at step ${step}`);
  await runs.getByRole('button', { name: 'Delete unreadable run Edited by hand' }).click();
  await expect(runs.getByRole('listitem', { name: 'Unreadable run Edited by hand' })).toHaveCount(0);
  await page.reload();
  await expect(runs.getByRole('listitem', { name: 'Unreadable run Edited by hand' })).toHaveCount(0);
  await expect(runs.getByRole('listitem', { name: 'Unreadable run Saved by a newer app' })).toHaveCount(1);
});

/**
 * Holds the page inside the next checkpoint write once window.holdNextCheckpointWrite is set: the write
 * is issued, and its transaction cannot commit while the page's thread is busy. A console message tells
 * the test that it is there (console messages reach the test while the page is busy).
 */
const HOLD_CHECKPOINT_WRITE = `{
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const request = put.apply(this, args);
    if (this.name === 'checkpoints' && window.holdNextCheckpointWrite) {
      window.holdNextCheckpointWrite = false;
      console.log('checkpoint write held');
      const until = performance.now() + 20000;
      while (performance.now() < until) {}
    }
    return request;
  };
}`;

test('closing the page in the middle of a checkpoint write leaves the previous checkpoint readable', async ({ context }) => {
  const page = await context.newPage();
  await page.addInitScript(HOLD_CHECKPOINT_WRITE);
  await page.goto('/?backend=wasm');
  const kept = await trainThenPause(page, 2);
  const runs = page.getByRole('list', { name: 'Saved runs' });
  await expect(runs.getByRole('listitem')).toContainText(`checkpoint at step ${kept}`);

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(kept + 2);
  await page.evaluate('window.holdNextCheckpointWrite = true');
  // The pause's checkpoint write starts, and the page is closed while it is under way.
  const held = page.waitForEvent('console', { predicate: (message) => message.text() === 'checkpoint write held' });
  await page.getByRole('button', { name: 'Pause' }).dispatchEvent('click');
  const heldAt = Date.now();
  await held;
  await page.close();
  // Closed while the page was still inside the write (it holds it for 20 s).
  expect(Date.now() - heldAt).toBeLessThan(15_000);

  const again = await context.newPage();
  await again.goto('/?backend=wasm');
  const item = again.getByRole('list', { name: 'Saved runs' }).getByRole('listitem');
  await expect(item).toContainText(`checkpoint at step ${kept}`);
  await item.getByRole('button', { name: /^Open run / }).click();
  await expect(again.getByRole('status', { name: 'Training status' })).toContainText(`at step ${kept}`);
});

test('two tabs on the same saved runs: the one training owns the run, the other shows it read-only and takes it over once the first closes', async ({ context }) => {
  const first = await context.newPage();
  await first.goto('/?backend=wasm');
  const step = await trainThenPause(first, 2);

  const second = await context.newPage();
  await second.goto('/?backend=wasm');
  const item = second.getByRole('list', { name: 'Saved runs' }).getByRole('listitem');
  await expect(item).toContainText(`in another tab · step ${step}`);
  await expect(item.getByRole('button', { name: /^Open run / })).toBeDisabled();
  await expect(item.getByRole('button', { name: /^Delete run / })).toBeDisabled();

  await first.close();
  await expect(item).toContainText(`paused · step ${step}`, { timeout: 5000 });
  await item.getByRole('button', { name: /^Open run / }).click();
  await expect(second.getByRole('status', { name: 'Training status' })).toContainText(`at step ${step}`);
  await second.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => await stepCount(second), { timeout: 90_000 }).toBeGreaterThan(step);
});

test('before Train the setup panel shows the memory the setup needs, and a batch that cannot fit is named with the one that does', async ({ page }) => {
  await page.goto('/?backend=wasm');
  const need = page.getByLabel('Memory need');
  await expect(need).toContainText(/Memory: about [\d.]+ MB for a step, training images [\d.]+ MB of it; WebAssembly can hold 4095\.9 MB\./, { timeout: 90_000 });
  await expect(page.getByRole('alert', { name: 'Setup does not fit' })).toHaveCount(0);
  const perStep = Number(/about ([\d.]+) MB/.exec((await need.textContent()) ?? '')![1]);
  // The default batch is 32: a batch a hundred times larger needs far more than 4 GB if each image costs over 1.3 MB.
  expect(perStep / 32).toBeGreaterThan(1.3);
  await commit(page, 'Batch size', '2000');
  const alert = page.getByRole('alert', { name: 'Setup does not fit' });
  await expect(alert).toContainText(/^This setup needs about [\d.]+ MB, more than WebAssembly can hold: lower the batch size to \d+ or less, or the image size\.$/, { timeout: 90_000 });
  const largest = Number(/batch size to (\d+)/.exec((await alert.textContent()) ?? '')![1]);
  await commit(page, 'Batch size', String(largest));
  await expect(need).toContainText(`WebAssembly can hold`, { timeout: 90_000 });
  await expect(alert).toHaveCount(0, { timeout: 90_000 });
  console.log(`memory need: ${perStep} MB a step at batch 32; the largest batch that fits WebAssembly's memory: ${largest}`);
});
