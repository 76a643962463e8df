/**
 * Messages of the headless page (headless.html), which the command-line runner and the benchmark
 * drive in Chromium. Images are decoded and resized in Node, exactly as for a CPU run, and served
 * to the page as raw pixel blobs, so every backend trains on byte-identical data.
 */
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import type { KernelCheckResult } from '../kernels/kernel-checks';
import type { TrainConfig } from '../engine/config';
import type { EngineBenchJob, EngineBenchResult } from '../runner/bench-engine';
import type { KCenterBenchJob, KCenterBenchResult } from '../runner/kcenter-bench';
import type { RunPlan, RunRecord } from '../runner/run';
import type { BackendName } from '../worker/backend-labels';

export interface ImageSetManifest {
  count: number;
  size: number;
  pixelsUrl: string;
  /** Int32 little-endian class indices, or null for an unlabeled set. */
  labelsUrl: string | null;
}

export interface DatasetManifest {
  name: string;
  classNames: string[];
  train: ImageSetManifest;
  test: ImageSetManifest | null;
}

export type HeadlessJob =
  /** backend null: the fastest available, falling back as the app does; otherwise exactly that one. */
  | { kind: 'train'; plan: RunPlan; backend: BackendName | null; dataset: DatasetManifest }
  | { kind: 'bench'; bench: EngineBenchJob; backend: BackendName; dataset: DatasetManifest }
  /** config: the run whose training would come first (WebAssembly's threads are chosen on it). */
  | { kind: 'kcenter'; kcenter: KCenterBenchJob; config: TrainConfig; backend: BackendName; dataset: DatasetManifest }
  /** The custom kernels' checks (src/kernels/kernel-checks.ts) on `backend`; `only` names the checks to run (default: all). */
  | { kind: 'kernel-check'; backend: BackendName; only?: string[] };

export type FromHeadless =
  | { type: 'record'; record: RunRecord }
  | { type: 'bench'; result: EngineBenchResult }
  | { type: 'kcenter'; result: KCenterBenchResult }
  | { type: 'kernel-check'; results: KernelCheckResult[] }
  | { type: 'error'; message: string }
  | { type: 'done' };

/** The blobs a dataset is served as, keyed by URL path, and the manifest naming them. */
export function datasetBlobs(data: DatasetSplits, prefix = '/__data'): { manifest: DatasetManifest; blobs: Map<string, Uint8Array> } {
  const blobs = new Map<string, Uint8Array>();
  const describe = (set: ImageSet, split: string): ImageSetManifest => {
    const pixelsUrl = `${prefix}/${split}-pixels.bin`;
    blobs.set(pixelsUrl, set.pixels);
    let labelsUrl: string | null = null;
    if (set.labels) {
      labelsUrl = `${prefix}/${split}-labels.bin`;
      blobs.set(labelsUrl, new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength));
    }
    return { count: set.count, size: set.size, pixelsUrl, labelsUrl };
  };
  const manifest = { name: data.name, classNames: data.classNames, train: describe(data.train, 'train'), test: data.test ? describe(data.test, 'test') : null };
  return { manifest, blobs };
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function fetchSet(set: ImageSetManifest): Promise<ImageSet> {
  const [pixels, labels] = await Promise.all([fetchBytes(set.pixelsUrl), set.labelsUrl ? fetchBytes(set.labelsUrl) : null]);
  return { count: set.count, size: set.size, pixels: new Uint8Array(pixels), labels: labels ? new Int32Array(labels) : null };
}

export async function fetchDataset(manifest: DatasetManifest): Promise<DatasetSplits> {
  const [train, test] = await Promise.all([fetchSet(manifest.train), manifest.test ? fetchSet(manifest.test) : null]);
  return { name: manifest.name, classNames: manifest.classNames, train, test };
}
