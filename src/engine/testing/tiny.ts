/** Tiny configurations for fast tests: a few-channel ConvNet on 8–16 px images. */
import { shapesDataset } from '../../data/shapes';
import type { TrainConfig } from '../config';
import type { DatasetSplits } from '../dataset';
import { getMethod } from '../methods/registry';

export function tinyConfig(method: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const base = getMethod(method).defaults('classroom');
  return {
    ...base,
    imageSize: 16,
    batchSize: 8,
    totalSteps: 50,
    warmupSteps: 2,
    backbone: { kind: 'convnet', widths: [4, 8, 8, 8] },
    // Narrower, never wider: RotNet's 4-way classifier head keeps its 4 outputs.
    projector: { ...base.projector, hidden: base.projector.hidden.map(() => 16), out: Math.min(base.projector.out, 8) },
    predictor: base.predictor ? { ...base.predictor, hidden: base.predictor.hidden.map(() => 16), out: 8 } : null,
    ...overrides,
  };
}

export function tinyData(count = 32, size = 16): DatasetSplits {
  return shapesDataset({ trainCount: count, testCount: 12, size, seed: 7 });
}
