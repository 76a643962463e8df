import { expect, test } from '@playwright/test';
import { chooseTinyRun, stepCount } from './tiny-run';

test('trains BYOL on the built-in data on WebGPU, charts fill, pause stops the steps', async ({ page }) => {
  await page.goto('/?backend=webgpu');
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('WebGPU');

  await chooseTinyRun(page);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect(status).toContainText('Training');
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(3);

  const lossChart = page.getByRole('figure', { name: 'Loss' });
  const stdChart = page.getByRole('figure', { name: 'Collapse detection' });
  await expect.poll(async () => Number(await lossChart.getAttribute('data-point-count'))).toBeGreaterThan(0);
  await expect.poll(async () => Number(await stdChart.getAttribute('data-point-count'))).toBeGreaterThan(0);
  // Smoothing is on by default: the raw curve (faint) and its smoothed copy.
  await expect(lossChart.locator('path.recharts-line-curve')).toHaveCount(2);

  const stepTime = await status.getByLabel('Step time').textContent();
  console.log(`e2e configuration (tiny ConvNet, 16 px, batch 16, BYOL): ${stepTime}`);

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(status).toContainText('Paused');
  const pausedAt = await stepCount(page);
  await page.waitForTimeout(3000);
  expect(await stepCount(page)).toBe(pausedAt);

  // A single step while paused advances by exactly one.
  await page.getByRole('button', { name: 'Step' }).click();
  await expect(page.getByTestId('step-counter')).toHaveText(String(pausedAt + 1));
});

test('on an emulated GPU the app says so and offers a quick setup, one click away', async ({ page }) => {
  await page.goto('/?backend=webgpu');
  const note = page.getByRole('note', { name: 'Slow device' });
  await expect(note).toContainText('emulated on the CPU');
  await note.getByRole('button', { name: 'Use a quick setup' }).click();
  await expect(page.getByLabel('Encoder')).toHaveValue('convnet-tiny');
  await expect(page.getByLabel('Image size')).toHaveValue('16');
  await expect(page.getByRole('spinbutton', { name: 'Batch size', exact: true })).toHaveValue('16');
  await expect(note).toHaveCount(0);
});

test('Train picks the backend for this setup, says why, and a fixed choice overrides it', async ({ page }) => {
  await page.goto('/');
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).not.toContainText('starting');
  await expect(page.getByRole('combobox', { name: 'Backend', exact: true })).toHaveValue('fastest');
  const pressed = Date.now();
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect.poll(async () => await stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(1);
  const toFirstStep = Date.now() - pressed;
  const choice = status.getByLabel('Backend choice');
  // On this machine the GPU is SwiftShader: the emulated GPUs and the tfjs CPU backend are passed over,
  // which leaves WebAssembly, used without timing (unit tests cover timing and remembering).
  await expect(choice).toContainText('the only candidate: not timed');
  await expect(choice).toContainText('emulated on the CPU');
  await expect(choice).toContainText('→ WebAssembly');
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('WebAssembly');
  console.log(`Train pressed → step 1 on screen (default setup, first start): ${toFirstStep} ms; ${await choice.textContent()}`);

  // A fixed choice overrides it.
  await page.getByRole('combobox', { name: 'Backend', exact: true }).selectOption('cpu');
  await page.getByRole('button', { name: 'Train again' }).click();
  await expect(choice).toContainText('CPU (as asked)');
});
