/**
 * The headless runner's training: one `RunSession` of one run, with a report every few steps and
 * evaluations on a schedule, turned into start, report and summary records. No DOM and no Node
 * APIs, so the same code runs in Node (CPU backends) and in the headless page's worker (WebGPU,
 * WebGL), and both print the same records.
 */
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { knnProblem, type EvaluationResult } from '../engine/evaluation';
import { DEFAULT_EVALUATION, type EvaluationSettings } from '../engine/evaluation-settings';
import { effectiveK } from '../engine/metrics';
import { RunSession, type SessionReport } from '../engine/run-session';
import { Trainer } from '../engine/trainer';
import type { BackendInfo, BackendName } from '../worker/backend-labels';

export interface RunPlan {
  config: TrainConfig;
  /** Evaluate every this many steps (0: only at the end); always at the end when the data has labels. */
  evalEvery: number;
  reportEvery: number;
  /** Evaluate the untrained encoder and stop: the baseline every method must beat. */
  randomInit: boolean;
  /** Bank and held-out sizes of the evaluation sample (the app's defaults unless given). */
  maxBankImages: number;
  maxHeldOutImages: number;
  /** Measure the gradient anatomy at every report's step and add it to the report. */
  gradients: boolean;
}

/** How a kNN figure was measured: next to every one the runner prints. */
export interface KnnProtocol {
  k: number;
  sigma: number;
  /** Training images in the bank and held-out images classified, of those available. */
  bank: number;
  bankAvailable: number;
  heldOut: number;
  heldOutAvailable: number;
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
  /** The evaluation protocol; null when the data cannot give a kNN accuracy. */
  knn: KnnProtocol | null;
  /** Milliseconds spent compiling kernels before the first step (0 on the CPU backends). */
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
  /** kNN top-1 accuracy on the held-out sample, when evaluated at this step. */
  knn?: number;
  /** Training throughput since the previous report (evaluation time excluded). */
  imagesPerSecond: number;
  backend: BackendName;
  /** UniGrad's split of ∂L/∂u₁ at this step (`--gradients`), for methods with a positive target. */
  gradients?: ReportGradients;
}

/** The gradient anatomy as the runner reports it (see docs/metrics.md). */
export interface ReportGradients {
  positive: number;
  negative: number;
  ratio: number;
  unigradCosine: number;
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
  /** RankMe (effective rank) of the held-out backbone features at the last evaluation; null without one. */
  finalRankMe: number | null;
  knn: KnnProtocol | null;
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

function evaluationSettings(plan: RunPlan): EvaluationSettings {
  // Every evaluation the plan asks for, whatever it costs: the runner measures, it does not budget.
  return { ...DEFAULT_EVALUATION, everySteps: plan.evalEvery, maxTimeShare: 1, maxBankImages: plan.maxBankImages, maxHeldOutImages: plan.maxHeldOutImages };
}

/** Refuses plans that cannot work, before any network is built or browser started. */
export function checkPlan(plan: RunPlan, data: DatasetSplits): void {
  Trainer.check(plan.config, data);
  const problem = knnProblem(data);
  if ((plan.randomInit || plan.evalEvery > 0) && problem !== null) {
    const flag = plan.randomInit ? '--random-init' : '--eval-every';
    throw new Error(`${flag}: ${problem} Use a folder with one sub-folder per class, and enough images per class to hold some out.`);
  }
}

function protocolOf(result: EvaluationResult, settings: EvaluationSettings): KnnProtocol {
  return { k: effectiveK(result.bankSize, settings.k), sigma: settings.sigma, bank: result.bankSize, bankAvailable: result.bankAvailable, heldOut: result.heldOutSize, heldOutAvailable: result.heldOutAvailable };
}

/** Runs the plan to the end, emitting a start record, a report every `reportEvery` steps and a summary. */
export async function runTraining(plan: RunPlan, data: DatasetSplits, backend: BackendInfo, emit: (record: RunRecord) => void): Promise<SummaryRecord> {
  checkPlan(plan, data);
  const { config } = plan;
  const settings = evaluationSettings(plan);
  const evaluate = knnProblem(data) === null;
  const knnHistory: { step: number; accuracy: number }[] = [];
  let protocol: KnnProtocol | null = null;
  let rankMe: number | null = null;
  let evalMs = 0;
  let last: { loss: number; featureStd: number } | null = null;
  // A report waits for the evaluation of its step, so both go out as one record.
  let held: ReportRecord | null = null;
  const release = () => {
    if (held) emit(held);
    held = null;
  };
  let windowImages = 0;
  const onReport = ({ runs: [run] }: SessionReport) => {
    const record = run.records.at(-1);
    if (!record) return;
    release();
    last = record;
    windowImages += run.records.length * config.batchSize;
    held = { type: 'report', step: run.steps, loss: record.loss, featureStd: record.featureStd, learningRate: record.learningRate, tau: record.tau, imagesPerSecond: run.imagesPerSecond ?? 0, backend: backend.name };
    const anatomy = [...run.records].reverse().find((r) => r.gradients !== null)?.gradients;
    if (anatomy) held.gradients = { positive: anatomy.positive, negative: anatomy.negative, ratio: anatomy.ratio, unigradCosine: anatomy.unigradCosine };
  };
  const session = new RunSession([{ id: 'run', name: config.method, config }], data, { evaluation: evaluate ? settings : null, reportEverySteps: plan.reportEvery, gradientsEvery: plan.gradients ? plan.reportEvery : 0 }, {
    report: onReport,
    evaluation: ({ result }) => {
      evalMs += result.milliseconds;
      protocol = protocolOf(result, settings);
      rankMe = result.effectiveRank;
      if (result.knnAccuracy === null) return;
      knnHistory.push({ step: result.step, accuracy: result.knnAccuracy });
      if (held && held.step === result.step) held.knn = result.knnAccuracy;
    },
  });
  let trainMs = 0;
  try {
    const warmUpMs = plan.randomInit ? 0 : await session.warmUp();
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
      knn: evaluate ? { k: effectiveK(Math.min(data.train.count, settings.maxBankImages), settings.k), sigma: settings.sigma, bank: Math.min(data.train.count, settings.maxBankImages), bankAvailable: data.train.count, heldOut: Math.min(data.test!.count, settings.maxHeldOutImages), heldOutAvailable: data.test!.count } : null,
      warmUpMs: Math.round(warmUpMs),
    });
    if (plan.randomInit) {
      const { result } = await session.evaluate();
      evalMs = result.milliseconds;
      rankMe = result.effectiveRank;
      knnHistory.push({ step: 0, accuracy: result.knnAccuracy! });
      protocol = protocolOf(result, settings);
      emit({ type: 'report', step: 0, loss: null, featureStd: null, learningRate: 0, tau: session.run().trainer.currentTau(), knn: result.knnAccuracy!, imagesPerSecond: 0, backend: backend.name });
    } else {
      const start = performance.now();
      await session.train();
      trainMs = performance.now() - start - evalMs;
      release();
      const { problem } = session.run();
      if (problem) throw new Error(`${problem} The flags: --lr, --batch.`);
    }
  } finally {
    await session.dispose();
  }

  const best = knnHistory.reduce<{ step: number; accuracy: number } | null>((b, e) => (b === null || e.accuracy > b.accuracy ? e : b), null);
  const finalRecord = last as { loss: number; featureStd: number } | null;
  const summary: SummaryRecord = {
    type: 'summary',
    method: config.method,
    backend: backend.name,
    steps: plan.randomInit ? 0 : config.totalSteps,
    finalLoss: finalRecord?.loss ?? null,
    finalFeatureStd: finalRecord?.featureStd ?? null,
    bestKnn: best?.accuracy ?? null,
    bestKnnStep: best?.step ?? null,
    finalKnn: knnHistory.at(-1)?.accuracy ?? null,
    finalRankMe: rankMe,
    knn: protocol,
    imagesPerSecond: trainMs > 0 ? windowImages / (trainMs / 1000) : 0,
    trainSeconds: trainMs / 1000,
    evalSeconds: evalMs / 1000,
  };
  emit(summary);
  return summary;
}
