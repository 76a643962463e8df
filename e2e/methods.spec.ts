import { expect, test } from '@playwright/test';
import { chooseTinyRun, commit, stepCount } from './tiny-run';

/** Every method of the zoo, as the Method select lists it (the catalog comes from the worker). */
const METHOD_LABELS = [
  'BYOL',
  'SimSiam',
  'SimCLR',
  'MoCo v2',
  'MoBY',
  'MoBYv2AL',
  'NPID (memory bank)',
  'SupCon (uses labels)',
  'Barlow Twins',
  'VICReg',
  'UniGrad',
  'Rotation prediction (RotNet)',
  'Context prediction (relative patch position)',
  'Jigsaw puzzle',
  'Exemplar CNN (every image its own class)',
  'Inpainting (context encoder)',
];

test('the Method select offers the whole zoo, each with its classroom paragraph', async ({ page }) => {
  await page.goto('/');
  const select = page.getByLabel('Method');
  await expect(select.locator('option')).toHaveText(METHOD_LABELS);
  for (const label of METHOD_LABELS) {
    await select.selectOption({ label });
    await expect(page.getByLabel(`About ${label}`)).toContainText(/collapse/i);
  }
});

// BYOL trains on WebGPU in train.spec; the rest of the zoo runs on the worker's tfjs CPU backend,
// which is faster than SwiftShader WebGPU, so one test can train every method.
test('every other method trains a few steps in the browser', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  await page.goto('/?backend=cpu');
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('CPU');
  for (const label of METHOD_LABELS.slice(1)) {
    await page.getByLabel('Method').selectOption({ label });
    await chooseTinyRun(page);
    if ((await page.getByRole('spinbutton', { name: 'Queue size', exact: true }).count()) > 0) await commit(page, 'Queue size', '64');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await expect.poll(async () => await stepCount(page), { timeout: 90_000, message: label }).toBeGreaterThanOrEqual(2);
    await expect(status, label).not.toContainText('Error');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(status).toContainText('Paused');
    await page.getByRole('button', { name: 'Reset', exact: true }).click();
  }
});

test("SimSiam's stop-gradient can be switched off for the collapse ablation", async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Method').selectOption({ label: 'SimSiam' });
  const stopGradient = page.getByRole('checkbox', { name: 'Stop-gradient' });
  await expect(stopGradient).toBeChecked();
  await stopGradient.uncheck();
  await expect(stopGradient).not.toBeChecked();
  // Choosing a preset restores the method's defaults.
  await page.getByLabel('Preset').selectOption('reference');
  await page.getByLabel('Preset').selectOption('classroom');
  await expect(stopGradient).toBeChecked();
});

test('SupCon offers both loss forms, L_out by default, and a link carries the choice', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Method').selectOption({ label: 'SupCon (uses labels)' });
  const form = page.getByRole('combobox', { name: 'Loss form' });
  await expect(form).toHaveValue('0');
  await form.selectOption({ label: "L_in: log inside the mean (solo-learn's loss)" });
  await expect(page).toHaveURL(/options\.form=1/);
  await page.reload();
  await expect(page.getByRole('combobox', { name: 'Loss form' })).toHaveValue('1');
});
