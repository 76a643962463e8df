import { expect, test, type Locator } from '@playwright/test';

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
  await expect(status.getByLabel('Backend')).toContainText('CPU');

  const addRun = panel.getByRole('button', { name: 'Add run' });
  await addRun.click();
  await addRun.click();
  // Shared by both runs: the small data, one kNN evaluation at the end, the tiny encoder at 16 px.
  await panel.getByLabel('Data').selectOption('shapes-quick');
  await setNumber(panel.getByLabel('kNN evaluations per run'), '1');
  await panel.getByLabel('Encoder').selectOption('convnet-tiny');
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
  const imagesPerSecond = await status.getByLabel('Images per second, all runs').textContent();
  const speeds = await table.getByRole('row').evaluateAll((rows) => rows.slice(1).map((r) => `${r.querySelector('th')?.textContent}: ${r.querySelectorAll('td')[6]?.textContent} img/s`));
  console.log(`compare e2e (2 × tiny ConvNet, 16 px, batch 16, 6 steps): ${imagesPerSecond}; ${speeds.join('; ')}`);
});
