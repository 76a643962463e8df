import { expect, test } from '@playwright/test';

test.setTimeout(300_000);

test('a simulated active-learning experiment on a tiny configuration draws one curve per strategy and counts labels per class', async ({ page }) => {
  await page.goto('/?backend=cpu');
  await page.getByRole('tab', { name: 'Active learning' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Active learning' });
  await panel.getByLabel('Data').selectOption('shapes-quick');
  await panel.getByLabel('Image size').selectOption('16');
  for (const [label, value] of [
    ['Initial labels', '12'],
    ['Labels per cycle', '12'],
    ['Cycles', '2'],
    ['Steps per cycle', '3'],
    ['Batch size', '8'],
  ]) {
    const field = panel.getByRole('spinbutton', { name: label, exact: true });
    await field.fill(value);
    await field.press('Enter');
  }
  // Core-set and random are on by default.
  await panel.getByRole('button', { name: 'Run experiment' }).click();
  const status = panel.getByRole('status', { name: 'Active learning status' });
  await expect(status).toContainText('Finished 2 series of 2 cycles', { timeout: 240_000 });
  const chart = panel.getByRole('figure', { name: 'Accuracy against labels' });
  await expect(chart).toHaveAttribute('data-series-count', '2');
  await expect(chart).toHaveAttribute('data-point-count', '4');
  const table = panel.getByRole('table', { name: 'Labels per class' });
  // 12 + 12 labels over the six shape classes, for each series.
  for (const series of ['coreset', 'random']) {
    const cells = await table.getByRole('row', { name: new RegExp(`^${series}`) }).getByRole('cell').allTextContents();
    expect(cells).toHaveLength(6);
    expect(cells.reduce((sum, n) => sum + Number(n), 0)).toBe(24);
  }
});
