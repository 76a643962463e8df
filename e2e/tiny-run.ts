import { expect, type Page } from '@playwright/test';

/**
 * The end-to-end configuration: SwiftShader WebGPU runs on the CPU here, where embedding an image
 * costs about as much as a training step, so runs use a tiny ConvNet at 16 px, a small batch, and a
 * small kNN bank and held-out sample.
 */
export async function chooseTinyRun(page: Page, options: { learningRate?: number; batchSize?: number } = {}) {
  await page.getByLabel('Encoder', { exact: true }).selectOption('convnet-tiny');
  await page.getByLabel('Image size').selectOption('16');
  await commit(page, 'Batch size', String(options.batchSize ?? 16));
  await useSmallEvaluation(page);
  if (options.learningRate !== undefined) await commit(page, 'Learning rate', String(options.learningRate));
}

/** A small kNN bank and held-out sample, so evaluations stay cheap on SwiftShader. */
export async function useSmallEvaluation(page: Page) {
  await commit(page, 'kNN bank (max training images)', '120');
  await commit(page, 'Held-out images (max)', '60');
}

/** Types into a number field and commits it with Enter, as the app's fields expect. */
export async function commit(page: Page, label: string, value: string) {
  const field = page.getByRole('spinbutton', { name: label, exact: true });
  await field.fill(value);
  await field.press('Enter');
}

export async function stepCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('step-counter').textContent());
}

/** Trains the page's setup (with a small evaluation) until `steps` are done, then pauses, which writes a checkpoint; the step it paused at. */
export async function trainThenPause(page: Page, steps: number, timeout = 90_000): Promise<number> {
  await useSmallEvaluation(page);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect.poll(async () => await stepCount(page), { timeout }).toBeGreaterThanOrEqual(steps);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByRole('status', { name: 'Training status' })).toContainText('Paused');
  return stepCount(page);
}
