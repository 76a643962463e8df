/// <reference lib="webworker" />
/**
 * The headless page's worker: picks the backend as the app's worker does, then runs the runner's
 * training loop or the benchmark's engine measurements, posting every record as it comes.
 */
import { benchEngine } from '../runner/bench-engine';
import { runTraining } from '../runner/run';
import { selectBackend } from '../worker/backend';
import { backendLabel, type BackendInfo, type BackendName } from '../worker/backend-labels';
import { fetchDataset, type FromHeadless, type HeadlessJob } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function post(message: FromHeadless): void {
  self.postMessage(message);
}

/** The fastest backend from `requested` on; with an explicit request, exactly that one or an error. */
async function startBackend(requested: BackendName | null): Promise<BackendInfo> {
  const info = await selectBackend(requested ?? 'webgpu');
  if (requested && info.name !== requested) {
    throw new Error(`${backendLabel(requested)} is not available in this browser: ${info.fallbackReasons.join('; ')}`);
  }
  return info;
}

async function run(job: HeadlessJob): Promise<void> {
  const info = await startBackend(job.backend);
  const data = await fetchDataset(job.dataset);
  if (job.kind === 'train') await runTraining(job.plan, data, info, (record) => post({ type: 'record', record }));
  else post({ type: 'bench', result: await benchEngine(job.bench, data, info) });
}

self.onmessage = (event: MessageEvent<HeadlessJob>) => {
  run(event.data).then(
    () => post({ type: 'done' }),
    (error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
};
