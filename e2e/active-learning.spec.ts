import { readFileSync } from 'node:fs';
import { expect, test, type Locator } from '@playwright/test';
import { makeFolder, solidPng } from '../src/data/testing/png-folders';

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

/** Cycles small enough for the CPU backend: 16 px, 4 images per cycle, 2 steps of 4 images. */
async function tinyCycles(panel: Locator) {
  await panel.getByLabel('Image size').selectOption('16');
  for (const [label, value] of [
    ['Images per cycle', '4'],
    ['Steps per cycle', '2'],
    ['Batch size', '4'],
  ]) {
    const field = panel.getByRole('spinbutton', { name: label, exact: true });
    await field.fill(value);
    await field.press('Enter');
  }
}

test('on your own flat folder the suggestion grid appears, three images labelled through the UI are trained on in the next cycle, and the labels survive a reload', async ({ page }) => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 8; i++) {
    files[`warm-${i}.png`] = solidPng(12, 12, [200 + 6 * i, 40 + 5 * i, 10]);
    files[`cold-${i}.png`] = solidPng(12, 12, [10, 60 + 5 * i, 200 + 6 * i]);
  }
  const folder = makeFolder('my-photos', files);
  await page.goto('/?backend=cpu');
  await page.getByRole('tab', { name: 'Active learning' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Active learning' });
  await panel.getByLabel('Mode').selectOption('folder');
  await panel.getByLabel('Image folder to label').setInputFiles(folder);
  await expect(panel.getByLabel('Folder to label', { exact: true })).toHaveText('"my-photos": 16 images');
  const train = panel.getByRole('button', { name: 'Train and suggest' });
  // A flat folder has no classes: the cycle waits for two names.
  await expect(train).toBeDisabled();
  await expect(panel.getByText('Name at least two classes first')).toBeVisible();
  const classes = panel.getByLabel(/^Class names/);
  await classes.fill('warm, cold');
  await classes.press('Enter');
  await tinyCycles(panel);
  const status = panel.getByRole('status', { name: 'Active learning status' });
  await train.click();
  await expect(status).toHaveText('Cycle 1 trained on 0 labelled images; 4 suggested.', { timeout: 120_000 });
  const grid = panel.getByRole('group', { name: 'Suggested images' });
  const suggestions = grid.locator('[data-path]');
  await expect(suggestions).toHaveCount(4);
  const paths = await suggestions.evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.path!));
  const truth = (path: string) => (path.startsWith('warm') ? 'warm' : 'cold');

  // One by click, one by its number key, one by key with only the grid focused (the first waiting one), one skipped.
  await grid.getByRole('button', { name: `Label ${paths[0]} as ${truth(paths[0])}`, exact: true }).click();
  await suggestions.nth(1).focus();
  await page.keyboard.press(truth(paths[1]) === 'warm' ? '1' : '2');
  await grid.getByRole('button', { name: `Skip ${paths[3]}` }).click();
  await grid.focus();
  await page.keyboard.press(truth(paths[2]) === 'warm' ? '1' : '2');
  await expect(panel.getByLabel('Labels per class')).toContainText('3 labelled');
  for (const i of [0, 1, 2]) await expect(grid.getByRole('group', { name: `Suggestion ${i + 1}: ${paths[i]}, labelled ${truth(paths[i])}` })).toBeVisible();
  await expect(grid.getByRole('group', { name: `Suggestion 4: ${paths[3]}, skipped` })).toBeVisible();

  // A correction replaces the label; correcting back leaves three labels, none lost or doubled.
  const other = truth(paths[0]) === 'warm' ? 'cold' : 'warm';
  await grid.getByRole('button', { name: `Label ${paths[0]} as ${other}`, exact: true }).click();
  await expect(panel.getByRole('status', { name: 'Labelling note' })).toHaveText(`${paths[0]}: was "${truth(paths[0])}", now "${other}".`);
  await panel.getByRole('table', { name: 'Your labels' }).getByRole('combobox', { name: `Label of ${paths[0]}` }).selectOption(truth(paths[0]));
  await expect(panel.getByRole('table', { name: 'Your labels' }).getByRole('row')).toHaveCount(4);

  await train.click();
  await expect(status).toHaveText('Cycle 2 trained on 3 labelled images; 4 suggested.', { timeout: 120_000 });
  await expect(panel.getByTestId('trained-with')).toHaveAttribute('data-trained-with', '3');
  // The embedding view marks the three labelled, the four suggested and the nine other images.
  const map = panel.getByRole('figure', { name: 'Labelling map' });
  await expect(map).toHaveAttribute('data-labelled', '3');
  await expect(map).toHaveAttribute('data-suggested', '4');
  await expect(map).toHaveAttribute('data-unlabelled', '9');
  // The new suggestions are images nobody labelled.
  const next = await suggestions.evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.path!));
  expect(next.filter((p) => paths.slice(0, 3).includes(p))).toEqual([]);

  const download = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Download labels (CSV)' }).click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  expect(csv.trim().split('\n').sort()).toEqual(['path,label', ...paths.slice(0, 3).map((p) => `${p},${truth(p)}`)].sort());

  // A reload in the middle of labelling keeps every label, and the grid it left.
  await grid.getByRole('button', { name: `Label ${next[0]} as ${truth(next[0])}`, exact: true }).click();
  await expect(panel.getByLabel('Labels per class')).toContainText('4 labelled');
  await page.reload();
  await page.getByRole('tab', { name: 'Active learning' }).click();
  await panel.getByLabel('Mode').selectOption('folder');
  await expect(panel.getByRole('status', { name: 'Labelling note' })).toHaveText('Restored 4 labels of "my-photos". Open the folder "my-photos" again to train the next cycle.');
  await expect(grid.locator('[data-path]')).toHaveCount(4);
  await expect(grid.getByRole('group', { name: `Suggestion 1: ${next[0]}, labelled ${truth(next[0])}` })).toBeVisible();
  await panel.getByLabel('Image folder to label').setInputFiles(folder);
  await expect(panel.getByLabel('Folder to label', { exact: true })).toHaveText('"my-photos": 16 images');
  await tinyCycles(panel);
  await train.click();
  await expect(panel.getByTestId('trained-with')).toHaveAttribute('data-trained-with', '4', { timeout: 120_000 });
});
