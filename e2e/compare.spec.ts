import { expect, test, type Locator, type Page } from '@playwright/test';
import { makeFolder, solidPng } from '../src/data/testing/png-folders';
import { useSmallEvaluation } from './tiny-run';

/** Column of the Steps cell ("done / total") in the comparison table. */
const STEPS_COLUMN = 1;

async function setNumber(field: Locator, value: string) {
  await field.fill(value);
  await field.press('Enter');
}

/** The tiny run of train.spec.ts (Tiny ConvNet, 16 px, batch 16), six steps, named. */
async function setUpRun(panel: Locator, index: number, name: string, tau: string) {
  const run = panel.getByRole('group', { name: `Run ${index}`, exact: true });
  await run.getByLabel('Name').fill(name);
  await setNumber(run.getByLabel('Batch size'), '16');
  await setNumber(run.getByLabel('τ (target momentum)'), tau);
  await setNumber(run.getByLabel('Total steps'), '6');
}

async function stepsOf(row: Locator): Promise<number> {
  const text = (await row.getByRole('cell').nth(STEPS_COLUMN).textContent()) ?? '';
  return Number(text.split('/')[0]);
}

test('two BYOL runs compared side by side: both legend entries, both table rows advancing, a legend button hides a run', async ({ page }) => {
  await page.goto('/?backend=cpu');
  await page.getByRole('tab', { name: 'Compare' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Compare' });
  const status = panel.getByRole('status', { name: 'Comparison status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('CPU');

  const addRun = panel.getByRole('button', { name: 'Add run' });
  await addRun.click();
  await addRun.click();
  // Shared by both runs: the small data, one kNN evaluation at the end, the tiny encoder at 16 px.
  await panel.getByLabel('Data').selectOption('shapes-quick');
  await setNumber(panel.getByLabel('kNN evaluations per run'), '1');
  await panel.getByLabel('Encoder', { exact: true }).selectOption('convnet-tiny');
  await panel.getByLabel('Image size').selectOption('16');
  await setUpRun(panel, 1, 'Slow target (τ 0.99)', '0.99');
  await setUpRun(panel, 2, 'Fast target (τ 0.9)', '0.9');

  await panel.getByRole('button', { name: 'Start comparison' }).click();
  await expect(status).toContainText('Training');

  const legend = panel.getByRole('group', { name: 'Runs shown in the charts' });
  const slowEntry = legend.getByRole('button', { name: 'Slow target (τ 0.99)' });
  const fastEntry = legend.getByRole('button', { name: 'Fast target (τ 0.9)' });
  await expect(slowEntry).toBeVisible();
  await expect(fastEntry).toBeVisible();
  await expect(slowEntry).toHaveAttribute('aria-pressed', 'true');
  await expect(fastEntry).toHaveAttribute('aria-pressed', 'true');

  const table = panel.getByRole('table', { name: 'Run comparison' });
  const slowRow = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Slow target (τ 0.99)' }) });
  const fastRow = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Fast target (τ 0.9)' }) });
  await expect(slowRow).toHaveCount(1);
  await expect(fastRow).toHaveCount(1);
  // Round-robin: both rows advance, never more than a report apart.
  await expect.poll(() => stepsOf(slowRow), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  await expect.poll(() => stepsOf(fastRow), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

  const lossChart = panel.getByRole('figure', { name: 'Loss' });
  await expect(lossChart.locator('path.recharts-line-curve')).toHaveCount(2);
  await fastEntry.click();
  await expect(fastEntry).toHaveAttribute('aria-pressed', 'false');
  await expect(lossChart.locator('path.recharts-line-curve')).toHaveCount(1);
  await expect(lossChart).toHaveAttribute('data-series-count', '1');

  // Both finish their six steps and get their kNN evaluation on the held-out shapes.
  await expect(status).toContainText('Finished', { timeout: 90_000 });
  expect(await stepsOf(slowRow)).toBe(6);
  expect(await stepsOf(fastRow)).toBe(6);
  for (const row of [slowRow, fastRow]) await expect(row.getByRole('cell').nth(4)).toHaveText(/^\d+(\.\d)?%/);
  // A run's last step always measures its gradient anatomy: one point of the shown run in each overlay.
  await expect(panel.getByRole('heading', { name: 'Gradient anatomy' })).toBeVisible();
  for (const name of ['Positive term', 'Negative term', 'Effective λ', "Cosine with UniGrad's form"]) {
    await expect(panel.getByRole('figure', { name, exact: true })).toHaveAttribute('data-point-count', '1');
  }
  const imagesPerSecond = await status.getByLabel('Images per second, all runs').textContent();
  const speeds = await table.getByRole('row').evaluateAll((rows) => rows.slice(1).map((r) => `${r.querySelector('th')?.textContent}: ${r.querySelectorAll('td')[6]?.textContent} img/s`));
  console.log(`compare e2e (2 × tiny ConvNet, 16 px, batch 16, 6 steps): ${imagesPerSecond}; ${speeds.join('; ')}`);
});

/** Two tiny BYOL and SimCLR runs of four steps on the data chosen in `pickData`, one kNN evaluation each. */
async function compareTinyRuns(page: Page, pickData: (panel: Locator) => Promise<void>): Promise<Locator> {
  // Compare evaluates with the Train tab's protocol: a small bank and held-out sample keep it quick.
  await useSmallEvaluation(page);
  await page.getByRole('tab', { name: 'Compare' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Compare' });
  await expect(panel.getByLabel('Evaluation protocol')).toContainText('a bank of up to 120 training images and up to 60 held-out images');
  const addRun = panel.getByRole('button', { name: 'Add run' });
  await addRun.click();
  await addRun.click();
  await pickData(panel);
  await setNumber(panel.getByLabel('kNN evaluations per run'), '1');
  await panel.getByLabel('Encoder', { exact: true }).selectOption('convnet-tiny');
  await panel.getByLabel('Image size').selectOption('16');
  for (const [index, method] of [[1, 'byol'], [2, 'simclr']] as const) {
    const run = panel.getByRole('group', { name: `Run ${index}`, exact: true });
    await run.getByLabel('Method').selectOption(method);
    await setNumber(run.getByLabel('Batch size'), '16');
    await setNumber(run.getByLabel('Total steps'), '4');
  }
  await panel.getByRole('button', { name: 'Start comparison' }).click();
  const status = panel.getByRole('status', { name: 'Comparison status' });
  await expect(status).toContainText('Finished: 2 runs, every one to its last step.', { timeout: 150_000 });
  const table = panel.getByRole('table', { name: 'Run comparison' });
  const rows = table.getByRole('row').filter({ has: page.getByRole('rowheader') });
  await expect(rows).toHaveCount(2);
  for (const row of await rows.all()) {
    expect(await stepsOf(row)).toBe(4);
    await expect(row.getByRole('cell').nth(4)).toHaveText(/^\d+(\.\d)?%/);
  }
  return status;
}

test('Compare trains on MNIST, the data the Train tab offers', async ({ page }) => {
  await page.goto('/?backend=cpu');
  const status = await compareTinyRuns(page, async (panel) => void (await panel.getByLabel('Data').selectOption('mnist')));
  await expect(status).toContainText('MNIST');
});

test('Compare trains every run on one folder, picked once', async ({ page }) => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 24; i++) {
    files[`warm/${i}.png`] = solidPng(12, 12, [200 + i, 40 + 3 * i, 10]);
    files[`cold/${i}.png`] = solidPng(12, 12, [10, 60 + 3 * i, 200 + i]);
  }
  const folder = makeFolder('temperatures', files);
  await page.goto('/?backend=cpu');
  const status = await compareTinyRuns(page, async (panel) => {
    await panel.getByLabel('Image folder for the comparison').setInputFiles(folder);
    await expect(panel.getByLabel('Data')).toHaveValue('folder');
  });
  // The folder's own split: 10% of each class held out for kNN.
  await expect(status).toContainText('temperatures');
});
