/**
 * The headless training loop: the app's engine and defaults, driven step by step with a report
 * every few steps and kNN accuracy on a schedule. No DOM and no Node APIs, so the same loop runs
 * in Node (CPU backend) and in the headless page's worker (WebGPU, WebGL), and both print the
 * same records.
 */
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { createKnnEvalData, disposeKnnEvalData, evaluateKnnAccuracy, knnProblem, KNN_K, KNN_SIGMA } from '../engine/knn-eval';
import { effectiveK } from '../engine/metrics';
import { getMethod } from '../engine/methods/registry';
import { Trainer, validateLiveSettings } from '../engine/trainer';
import { needsWarmUp, warmUpKernels } from '../engine/warmup';
import type { BackendInfo, BackendName } from '../worker/backend-labels';

export interface RunPlan {
  config: TrainConfig;
  /** kNN every this many steps (0: only at the end); always at the end when the data has labels. */
  evalEvery: number;
  reportEvery: number;
  /** Evaluate the untrained encoder and stop: the baseline every method must beat. */
  randomInit: boolean;
}

export interface StartRecord {
  type: 'start';
  method: string;
  backend: BackendName;
  adapter: string | null;
  fallbackReasons: string[];
  dataset: { name: string; train: number; test: number; classes: number; imageSize: number };
  steps: number;
  batchSize: number;
  encoder: string;
  /** Milliseconds spent compiling kernels before the first step (0 on the CPU). */
  warmUpMs: number;
}

export interface ReportRecord {
  type: 'report';
  /** Steps completed so far; loss and featureStd are those of this step (null before any step). */
  step: number;
  loss: number | null;
  featureStd: number | null;
  learningRate: number;
  tau: number;
  /** kNN top-1 accuracy on the held-out split, when evaluated at this step. */
  knn?: number;
  /** Training throughput since the previous report (evaluation time excluded). */
  imagesPerSecond: number;
  backend: BackendName;
}

export interface SummaryRecord {
  type: 'summary';
  method: string;
  backend: BackendName;
  steps: number;
  finalLoss: number | null;
  finalFeatureStd: number | null;
  /** null when the data has no labels or no held-out images. */
  bestKnn: number | null;
  bestKnnStep: number | null;
  finalKnn: number | null;
  knn: { k: number; sigma: number; train: number; test: number } | null;
  /** Mean training throughput over the run (evaluation time excluded). */
  imagesPerSecond: number;
  trainSeconds: number;
  evalSeconds: number;
}

export type RunRecord = StartRecord | ReportRecord | SummaryRecord;

function encoderName(config: TrainConfig): string {
  const b = config.backbone;
  return b.kind === 'convnet' ? `convnet[${b.widths.join(',')}]` : `resnet[${b.widths.join(',')}|${b.blocks.join(',')}]`;
}

/** Refuses plans that cannot work, before any network is built or browser started. */
export function checkPlan(plan: RunPlan, data: DatasetSplits): void {
  const method = getMethod(plan.config.method);
  if (method.uses.labels && !data.train.labels) {
    throw new Error(`${method.label} needs class labels, and "${data.name}" has none. Use a folder with one sub-folder per class, or another method.`);
  }
  validateLiveSettings(plan.config, data.train.count);
  const problem = knnProblem(data);
  if ((plan.randomInit || plan.evalEvery > 0) && problem !== null) {
    const flag = plan.randomInit ? '--random-init' : '--eval-every';
    throw new Error(`${flag}: ${problem} Use a folder with one sub-folder per class, and enough images per class to hold some out.`);
  }
}

/** Runs the plan to the end, emitting a start record, a report every `reportEvery` steps and a summary. */
export async function runTraining(plan: RunPlan, data: DatasetSplits, backend: BackendInfo, emit: (record: RunRecord) => void): Promise<SummaryRecord> {
  checkPlan(plan, data);
  const { config } = plan;
  const warmUpMs = !plan.randomInit && needsWarmUp() ? await warmUpKernels(config, data) : 0;
  const trainer = new Trainer(config, data);
  // The bank is the trainer's own copy of the training images on the device: no second upload.
  const knnData = createKnnEvalData(data, trainer.trainImages).eval;
  const evaluate = knnData !== null;
  emit({
    type: 'start',
    method: config.method,
    backend: backend.name,
    adapter: backend.adapter,
    fallbackReasons: backend.fallbackReasons,
    dataset: { name: data.name, train: data.train.count, test: data.test?.count ?? 0, classes: data.classNames.length, imageSize: data.train.size },
    steps: plan.randomInit ? 0 : config.totalSteps,
    batchSize: config.batchSize,
    encoder: encoderName(config),
    warmUpMs: Math.round(warmUpMs),
  });

  const knnHistory: { step: number; accuracy: number }[] = [];
  let knnInfo: SummaryRecord['knn'] = null;
  let evalMs = 0;
  const measureKnn = async (step: number): Promise<number> => {
    if (!knnData) throw new Error('kNN accuracy measured on data without labelled held-out images');
    const start = performance.now();
    const accuracy = await evaluateKnnAccuracy(trainer.method.encoder, config.imageSize, knnData);
    evalMs += performance.now() - start;
    knnHistory.push({ step, accuracy });
    knnInfo = { k: effectiveK(data.train.count, KNN_K), sigma: KNN_SIGMA, train: data.train.count, test: knnData.test.set.count };
    return accuracy;
  };

  let trainMs = 0;
  let last: { loss: number; featureStd: number } | null = null;
  try {
    if (plan.randomInit) {
      const knn = await measureKnn(0);
      emit({ type: 'report', step: 0, loss: null, featureStd: null, learningRate: 0, tau: trainer.currentTau(), knn, imagesPerSecond: 0, backend: backend.name });
    } else {
      let windowStart = performance.now();
      let windowSteps = 0;
      while (!trainer.finished) {
        trainer.step();
        windowSteps += 1;
        const step = trainer.steps;
        const evalDue = (plan.evalEvery > 0 && step % plan.evalEvery === 0) || (evaluate && trainer.finished);
        if (step % plan.reportEvery !== 0 && !evalDue && !trainer.finished) continue;
        const records = await trainer.flush();
        const windowMs = performance.now() - windowStart;
        trainMs += windowMs;
        const diverged = records.find((r) => !Number.isFinite(r.loss));
        if (diverged) {
          throw new Error(`The loss became ${diverged.loss} at step ${diverged.step + 1}: the run diverged. Lower the learning rate (--lr) or change the batch size.`);
        }
        const record = records[records.length - 1];
        last = record;
        const report: ReportRecord = {
          type: 'report',
          step,
          loss: record.loss,
          featureStd: record.featureStd,
          learningRate: record.learningRate,
          tau: record.tau,
          imagesPerSecond: (windowSteps * config.batchSize) / (windowMs / 1000),
          backend: backend.name,
        };
        if (evalDue) report.knn = await measureKnn(step);
        emit(report);
        windowStart = performance.now();
        windowSteps = 0;
      }
    }
  } finally {
    if (knnData) disposeKnnEvalData(knnData);
    trainer.dispose();
  }

  const best = knnHistory.reduce<{ step: number; accuracy: number } | null>((b, e) => (b === null || e.accuracy > b.accuracy ? e : b), null);
  const steps = plan.randomInit ? 0 : config.totalSteps;
  const summary: SummaryRecord = {
    type: 'summary',
    method: config.method,
    backend: backend.name,
    steps,
    finalLoss: last?.loss ?? null,
    finalFeatureStd: last?.featureStd ?? null,
    bestKnn: best?.accuracy ?? null,
    bestKnnStep: best?.step ?? null,
    finalKnn: knnHistory.length > 0 ? knnHistory[knnHistory.length - 1].accuracy : null,
    knn: knnInfo,
    imagesPerSecond: trainMs > 0 ? (steps * config.batchSize) / (trainMs / 1000) : 0,
    trainSeconds: trainMs / 1000,
    evalSeconds: evalMs / 1000,
  };
  emit(summary);
  return summary;
}
