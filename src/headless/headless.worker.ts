/// <reference lib="webworker" />
/**
 * The headless page's worker: picks the backend as the app's worker does (by measurement on the
 * job's configuration, or exactly the one asked for), then runs the runner's training, the
 * benchmark's engine measurements, its k-center timing or the custom kernels' checks, posting every
 * record as it comes.
 */
import * as tf from '@tensorflow/tfjs';
import '../worker/wasm-setup';
import { runKernelChecks } from '../kernels/kernel-checks';
import { benchEngine } from '../runner/bench-engine';
import { benchKCenter } from '../runner/kcenter-bench';
import { runTraining } from '../runner/run';
import { chooseBackend, probeBackends } from '../worker/backend';
import { fetchDataset, type FromHeadless, type HeadlessJob } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function post(message: FromHeadless): void {
  self.postMessage(message);
}

async function run(job: HeadlessJob): Promise<void> {
  if (job.kind === 'kernel-check') {
    const backend = (await probeBackends()).find((b) => b.name === job.backend);
    if (!backend || backend.note) throw new Error(`${job.backend} is not available here: ${backend?.note ?? 'unknown backend'}`);
    await tf.setBackend(job.backend);
    post({ type: 'kernel-check', results: await runKernelChecks(job.only) });
    return;
  }
  const data = await fetchDataset(job.dataset);
  const config = job.kind === 'train' ? job.plan.config : job.kind === 'bench' ? job.bench.config : job.config;
  const info = await chooseBackend(job.backend ? { kind: 'use', name: job.backend } : { kind: 'fastest', remembered: null }, await probeBackends(), config, data);
  if (job.kind === 'train') await runTraining(job.plan, data, info, (record) => post({ type: 'record', record }));
  else if (job.kind === 'bench') post({ type: 'bench', result: await benchEngine(job.bench, data, info) });
  else post({ type: 'kcenter', result: await benchKCenter(job.kcenter) });
}

self.onmessage = (event: MessageEvent<HeadlessJob>) => {
  run(event.data).then(
    () => post({ type: 'done' }),
    (error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
};
