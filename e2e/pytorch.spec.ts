import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { trainThenPause } from './tiny-run';

const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const noTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision']).status !== 0;

test.skip(noTorch, `no PyTorch at ${PYTHON}: the exported project cannot be checked`);

/**
 * BYOL; and NPID, whose memory bank (a row per training image of the run) travels as method state:
 * the export sizes it from the run's dataset, and train.py's bank comes back into the run.
 */
const CASES = [
  { method: 'byol', imported: /weights\.safetensors: Loaded all \d+ tensors of the run's networks/ },
  { method: 'npid', imported: /weights\.safetensors: Loaded all \d+ tensors of the run's networks and the method's state/ },
];

for (const { method, imported } of CASES) {
  test(`exports a ${method} run as a PyTorch project that passes its parity check, and imports the weights train.py writes`, async ({ page }) => {
    await page.goto(`/?method=${method}&preset=classroom&imageSize=16&batchSize=16&backbone.widths=16,32,32,32`);
    await trainThenPause(page, 2);

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'PyTorch project (.zip)' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${method}-convnet-tiny-step\\d+-pytorch\\.zip$`));
    const dir = mkdtempSync(join(tmpdir(), 'e2e-pytorch-'));
    try {
      const zip = join(dir, 'project.zip');
      await download.saveAs(zip);
      execFileSync(PYTHON, ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, dir]);
      const project = join(dir, download.suggestedFilename().replace(/\.zip$/, ''));

      // The paused run's weights and the app's numbers on the fixed batch, recomputed in PyTorch.
      const parity = JSON.parse(execFileSync(PYTHON, ['train.py', '--check-parity'], { cwd: project, encoding: 'utf8' }).trim()) as { passed: boolean };
      expect(parity.passed).toBe(true);

      // Two PyTorch steps, then their weights back into the app's run.
      execFileSync(PYTHON, ['train.py', '--fixed-batch', '--steps', '2', '--out', 'runs/back'], { cwd: project, encoding: 'utf8' });
      await page.getByLabel('Import weights (.safetensors)').setInputFiles(join(project, 'runs/back/weights.safetensors'));
      await expect(page.getByText(imported)).toBeVisible({ timeout: 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
