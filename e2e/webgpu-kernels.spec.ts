import { expect, test } from '@playwright/test';
import type { FromHeadless } from '../src/headless/protocol';
import type { KernelCheckResult } from '../src/kernels/kernel-checks';

/**
 * The custom WebGPU kernels against the composites or stock kernels they replace, in the browser
 * (Node has no WebGPU): every check of src/kernels/kernel-checks.ts run by the headless page's worker,
 * each within its tolerance, its kernels run, and no tensor left behind.
 */
test('every custom WebGPU kernel matches its reference, values and gradients, without leaking tensors', async ({ page }) => {
  test.setTimeout(600_000);
  const messages: FromHeadless[] = [];
  await page.exposeFunction('reportHeadless', (message: FromHeadless) => void messages.push(message));
  await page.goto('/headless.html');
  await page.waitForFunction(() => window.siameseHeadless !== undefined);
  await page.evaluate(() => window.siameseHeadless.run({ kind: 'kernel-check', backend: 'webgpu' }));
  const results = messages.flatMap((m) => (m.type === 'kernel-check' ? m.results : []));
  const summary = (r: KernelCheckResult) => `${r.name}: worst ${r.worst.toExponential(2)} (tolerance ${r.tolerance}), leaked ${r.leaked}/${r.referenceLeaked}, missing [${r.missingKernels}], reference ran [${r.referenceRanKernels}]${r.error ? `, error ${r.error}` : ''}`;
  console.log(results.map(summary).join('\n'));
  expect(results.length).toBeGreaterThan(0);
  for (const r of results) {
    expect.soft(r.error, r.name).toBeNull();
    expect.soft(r.missingKernels, r.name).toEqual([]);
    expect.soft(r.referenceRanKernels, r.name).toEqual([]);
    expect.soft([r.leaked, r.referenceLeaked], r.name).toEqual([0, 0]);
    for (const o of r.outputs) expect.soft(o.maxRel, `${r.name} / ${o.label} (max abs ${o.maxAbs})`).toBeLessThanOrEqual(r.tolerance);
    expect.soft(r.passed, summary(r)).toBe(true);
  }
});
