import { expect, test } from '@playwright/test';
import { chooseTinyRun, commit, stepCount } from './tiny-run';

test('τ and batch size change mid-run: markers on the charts, the run goes on; evaluation and the embedding view', async ({ page }) => {
  await page.goto('/');
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).not.toContainText('starting');
  await chooseTinyRun(page);
  // The WebAssembly backend trains the tiny run's 300 steps in about a minute: enough steps that it is
  // still training after the live changes below, on a busy machine too.
  await commit(page, 'Total steps', '3000');
  await commit(page, 'Gradient anatomy every (steps)', '2');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect(status).toContainText('Training');

  // The baseline evaluation (after the first step) fills the accuracy chart and the embedding view.
  await expect(page.getByTestId('knn-current')).toHaveText(/^\d+\.\d%$/, { timeout: 90_000 });
  await expect.poll(async () => stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  // The gradient anatomy of BYOL (the app's first method): its negative term is implicit, through the predictor.
  const anatomy = page.getByRole('figure', { name: 'Gradient anatomy', exact: true });
  await expect(anatomy).toContainText('negative (implicit, via the predictor)');
  await expect(page.getByTestId('gradient-ratio')).toHaveText(/^\d/);
  await expect(page.getByTestId('unigrad-cosine')).toHaveText(/^-?\d\.\d\d$/);
  for (const name of ['Effective λ (negative ÷ positive)', "Agreement with UniGrad's form"]) {
    await expect(page.getByRole('figure', { name, exact: true })).toBeVisible();
  }

  // Invalid values are refused at the control, and nothing is sent.
  await commit(page, 'Batch size', '5000');
  await expect(page.getByText('Batch size must be at most 1200')).toBeVisible();
  await commit(page, 'τ (target momentum)', '1.5');
  await expect(page.getByText('τ (target momentum) must be at most 1')).toBeVisible();

  await commit(page, 'τ (target momentum)', '0.9');
  await commit(page, 'Batch size', '8');
  const lossChart = page.getByRole('figure', { name: 'Loss' });
  await expect(lossChart.getByText('tau=0.9')).toBeVisible({ timeout: 60_000 });
  await expect(lossChart.getByText('batchSize=8')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('figure', { name: 'Collapse detection' }).getByText('batchSize=8')).toBeVisible();

  // The run continues past the changes with the same weights: steps keep coming, the loss stays finite.
  const afterChange = await stepCount(page);
  await expect.poll(async () => stepCount(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(afterChange + 2);
  await expect(status).toContainText('Training');
  await expect(page.getByRole('figure', { name: 'Target momentum τ' }).getByText('tau=0.9')).toBeVisible();

  // Every chart family is there.
  for (const name of ['Held-out accuracy', 'Effective rank (RankMe)', 'Alignment and uniformity', 'Positive and negative cosine', 'Learning-rate schedule', 'Per-class kNN accuracy']) {
    await expect(page.getByRole('figure', { name, exact: true })).toBeVisible();
  }
  await expect(page.getByTestId('evaluation-cost')).toHaveText(/%$/);

  // Clicking a point of the embedding view shows the image and its nearest training images.
  const embedding = page.getByRole('figure', { name: 'Embedding view' });
  await expect(embedding).toHaveAttribute('data-point-count', '60');
  await expect(page.getByLabel('Last evaluation')).toContainText('Bank: 120 training images (a fixed random sample of the 1200');
  // Dispatched on the point itself: points of other classes may lie on top of it.
  await embedding.locator('.recharts-scatter-symbol').first().dispatchEvent('click');
  const neighbours = page.getByRole('region', { name: 'Nearest neighbours' });
  await expect(neighbours.getByRole('img', { name: /^Selected image: / })).toBeVisible({ timeout: 30_000 });
  await expect(neighbours.getByRole('img', { name: /^Neighbour: / })).toHaveCount(8);

  // The x-axis can switch to epochs: the markers move with it.
  await page.getByLabel('X axis').selectOption('epoch');
  await expect(lossChart.getByText('batchSize=8')).toBeVisible();
});

test('a learning rate far too high collapses BYOL: the alarm explains it and pauses the run', async ({ page }) => {
  // Collapse sets in by step 2 and the alarm needs 5 low steps in a row: about 7 steps of 1–3 s each
  // on an idle machine; the limits leave room for a busy one.
  test.setTimeout(240_000);
  await page.goto('/');
  const status = page.getByRole('status', { name: 'Training status' });
  await chooseTinyRun(page, { learningRate: 1000 });
  await page.getByRole('button', { name: 'Train', exact: true }).click();

  const alarm = page.getByRole('alert').filter({ hasText: 'Collapse detected' });
  await expect(alarm).toBeVisible({ timeout: 200_000 });
  await expect(alarm).toContainText('maps every image to (nearly) the same point');
  await expect(alarm).toContainText('learning rate far too high (now 1000)');
  // Collapse, not divergence: the loss stayed finite, so the NaN guard did not pause the run.
  await expect(status).toContainText('Training');

  await alarm.getByRole('button', { name: 'Pause training' }).click();
  await expect(status).toContainText('Paused');
  await alarm.getByRole('button', { name: 'Dismiss' }).click();
  await expect(alarm).toHaveCount(0);
});
