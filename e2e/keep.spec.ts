import { readFile } from 'node:fs/promises';
import { expect, test, type Download, type Page } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { useSmallEvaluation } from './tiny-run';

/** The tiny configuration of train.spec.ts (Tiny ConvNet, 16 px, batch 16), given as a link. */
const TINY_LINK = '/?method=byol&preset=classroom&imageSize=16&batchSize=16&backbone.widths=16,32,32,32';

function stepCount(page: Page) {
  return page.getByTestId('step-counter');
}

/** Clicks and collects the `count` downloads the click starts. */
async function downloadsOf(page: Page, count: number, click: () => Promise<void>): Promise<Download[]> {
  const downloads: Download[] = [];
  const collect = (d: Download) => downloads.push(d);
  page.on('download', collect);
  await click();
  await expect.poll(() => downloads.length, { timeout: 60_000 }).toBe(count);
  page.off('download', collect);
  return downloads;
}

test('a shared link restores every setting it names, the address follows edits, and Copy link copies it', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(`${TINY_LINK}&seed=5&totalSteps=40&tau=0.9&tauSchedule=false&learningRate=0.02`);

  await expect(page.getByLabel('Encoder')).toHaveValue('convnet-tiny');
  await expect(page.getByLabel('Image size')).toHaveValue('16');
  await expect(page.getByRole('spinbutton', { name: 'Batch size', exact: true })).toHaveValue('16');
  await expect(page.getByRole('spinbutton', { name: 'Seed', exact: true })).toHaveValue('5');
  await expect(page.getByRole('spinbutton', { name: 'Total steps', exact: true })).toHaveValue('40');
  await expect(page.getByRole('spinbutton', { name: 'τ (target momentum)', exact: true })).toHaveValue('0.9');
  await expect(page.getByLabel('Cosine τ schedule (τ → 1)')).not.toBeChecked();
  await expect(page.getByRole('spinbutton', { name: 'Learning rate', exact: true })).toHaveValue('0.02');
  await expect(page.getByRole('alert')).toHaveCount(0);

  // Editing a control rewrites the address in place (no new history entry).
  const seed = page.getByRole('spinbutton', { name: 'Seed', exact: true });
  await seed.fill('7');
  await seed.press('Enter');
  await expect(page).toHaveURL(/[?&]seed=7(&|$)/);
  expect(new URL(page.url()).searchParams.get('batchSize')).toBe('16');

  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(page.url());

  // The copied link, opened fresh, gives the same setup.
  const again = await context.newPage();
  await again.goto(copied);
  await expect(again.getByRole('spinbutton', { name: 'Seed', exact: true })).toHaveValue('7');
  await expect(again.getByLabel('Encoder')).toHaveValue('convnet-tiny');
  await expect(again.getByRole('spinbutton', { name: 'τ (target momentum)', exact: true })).toHaveValue('0.9');
});

test('a link with bad settings applies the good ones and says what it ignored', async ({ page }) => {
  await page.goto('/?method=byol&batchSize=abc&seed=9&warp=3');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Some settings in the link were not applied');
  await expect(alert).toContainText('Ignored batchSize=abc');
  await expect(alert).toContainText('Ignored unknown setting "warp"');
  await expect(page.getByRole('spinbutton', { name: 'Seed', exact: true })).toHaveValue('9');
  await expect(page.getByRole('spinbutton', { name: 'Batch size', exact: true })).toHaveValue('32');
});

test('exports the encoder as a LayersModel that loads in Node with the right embedding shape, the metrics, the embeddings and a chart', async ({ page }) => {
  await page.goto(TINY_LINK);
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).not.toContainText('starting');
  await expect(page.getByLabel('Encoder')).toHaveValue('convnet-tiny');

  await useSmallEvaluation(page);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect.poll(async () => Number(await stepCount(page).textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(status).toContainText('Paused');
  const step = Number(await stepCount(page).textContent());

  const files = await downloadsOf(page, 2, () => page.getByRole('button', { name: 'Download encoder (LayersModel)' }).click());
  const modelFile = files.find((d) => d.suggestedFilename().endsWith('.model.json'));
  const weightsFile = files.find((d) => d.suggestedFilename().endsWith('.weights.bin'));
  expect(modelFile?.suggestedFilename()).toBe(`byol-convnet-tiny-step${step}.model.json`);
  const modelJson = JSON.parse(await readFile((await modelFile!.path())!, 'utf8')) as tf.io.ModelJSON;
  expect(modelJson.weightsManifest[0].paths).toEqual([weightsFile!.suggestedFilename()]);
  expect((modelJson.userDefinedMetadata as { step: number }).step).toBe(step);
  const weightBytes = await readFile((await weightsFile!.path())!);

  // Load it here, in Node, from memory, as another program would.
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength),
    }),
  );
  const images = tf.tidy(() => tf.concat([tf.zeros([1, 16, 16, 3]), tf.ones([1, 16, 16, 3]), tf.fill([1, 16, 16, 3], 0.5)]));
  const embedding = model.predict(images) as tf.Tensor;
  expect(embedding.shape).toEqual([3, 32]);
  const values = Array.from(await embedding.data());
  expect(values.every(Number.isFinite)).toBe(true);
  // Different images, different embeddings: the weights were loaded, not left at zero.
  expect(values.slice(0, 32)).not.toEqual(values.slice(32, 64));
  model.dispose();

  const [csv] = await downloadsOf(page, 1, () => page.getByRole('button', { name: 'Download metrics CSV' }).click());
  expect(csv.suggestedFilename()).toBe(`byol-convnet-tiny-step${step}-metrics.csv`);
  const lines = (await readFile((await csv.path())!, 'utf8')).trim().split('\n');
  const header = lines[0].split(',');
  expect(header.slice(0, 5)).toEqual(['step', 'loss', 'featureStd', 'learningRate', 'tau']);
  expect(header).toContain('epoch');
  expect(header[header.length - 1]).toBe('settings_change');
  expect(lines).toHaveLength(step + 1);
  // Steps count from 1, as everywhere in the app.
  expect(lines[1].startsWith('1,')).toBe(true);
  expect(lines.at(-1)!.startsWith(`${step},`)).toBe(true);

  const [json] = await downloadsOf(page, 1, () => page.getByRole('button', { name: 'Download metrics JSON' }).click());
  const metrics = JSON.parse(await readFile((await json.path())!, 'utf8'));
  expect(metrics.history).toHaveLength(step);
  expect(metrics.run.config.batchSize).toBe(16);

  // The held-out embeddings of the last evaluation, as the Embedding Projector's two TSV files.
  const tsv = await downloadsOf(page, 2, () => page.getByRole('button', { name: 'Download embeddings (TSV)' }).click());
  const text = async (suffix: string) => readFile((await tsv.find((d) => d.suggestedFilename().endsWith(suffix))!.path())!, 'utf8');
  const vectors = (await text('-vectors.tsv')).trim().split('\n');
  const metadata = (await text('-metadata.tsv')).trim().split('\n');
  expect(vectors).toHaveLength(60); // useSmallEvaluation: 60 held-out images
  vectors.forEach((row) => {
    const values = row.split('\t').map(Number);
    expect(values).toHaveLength(32);
    expect(Math.hypot(...values)).toBeCloseTo(1, 4);
  });
  expect(metadata[0]).toBe('label\tclass');
  expect(metadata).toHaveLength(61);

  // A chart as PNG: the signature, and twice the on-screen width in the header.
  const lossChart = page.getByRole('figure', { name: 'Loss' });
  const [png] = await downloadsOf(page, 1, () => page.getByRole('button', { name: 'Save Loss as PNG' }).click());
  expect(png.suggestedFilename()).toBe('loss.png');
  const image = await readFile((await png.path())!);
  expect(Array.from(image.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const svgWidth = await lossChart.locator('svg.recharts-surface').first().evaluate((svg) => svg.getBoundingClientRect().width);
  expect(image.readUInt32BE(16)).toBe(Math.round(svgWidth * 2));
});

test('a run is kept across a reload and resumes from its checkpoint; deleting it frees it', async ({ page }) => {
  // Persistence does not depend on the backend; the CPU backend is the quicker one on this software-rendered GPU.
  await page.goto(`${TINY_LINK}&backend=cpu`);
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('CPU');
  await useSmallEvaluation(page);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await expect.poll(async () => Number(await stepCount(page).textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(status).toContainText('Paused');
  const step = Number(await stepCount(page).textContent());

  const saved = page.getByRole('list', { name: 'Saved runs' }).getByRole('listitem');
  await expect(saved).toHaveCount(1);
  await expect(saved).toContainText(`checkpoint at step ${step}`);

  await page.reload();
  await expect(saved).toHaveCount(1);
  await expect(saved).toContainText(`paused · step ${step} of 300 · checkpoint at step ${step}`);
  await expect(page.getByRole('figure', { name: 'Loss' })).toHaveAttribute('data-point-count', '0');

  await saved.getByRole('button', { name: /^Open run / }).click();
  await expect(status).toContainText('Paused');
  await expect(status).toContainText(`at step ${step}`);
  await expect(stepCount(page)).toHaveText(String(step));
  await expect(page.getByRole('figure', { name: 'Loss' })).toHaveAttribute('data-point-count', String(step));
  await expect(page.getByLabel('Encoder')).toHaveValue('convnet-tiny');

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => Number(await stepCount(page).textContent()), { timeout: 90_000 }).toBeGreaterThan(step + 1);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(status).toContainText('Paused');
  const later = Number(await stepCount(page).textContent());
  // One point per step, old and new: the resumed run continued the history without gaps or repeats.
  await expect(page.getByRole('figure', { name: 'Loss' })).toHaveAttribute('data-point-count', String(later));
  await expect(saved).toContainText(`checkpoint at step ${later}`);

  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await saved.getByRole('button', { name: /^Delete run / }).click();
  await expect(saved).toHaveCount(0);
  await page.reload();
  await expect(page.getByText('Runs are kept in this browser')).toBeVisible();
  await expect(saved).toHaveCount(0);
});
