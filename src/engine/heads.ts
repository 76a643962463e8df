/**
 * Projector and predictor MLPs. Every method states its own head shapes; this file only knows
 * how to build "Linear → BN → ReLU" stacks with the variants the reference code uses.
 */
import type { Rng } from './random';
import { batchNorm, dense, relu, sequential, type Module } from './nn';

export interface MlpConfig {
  /** Widths of the hidden layers; each is Linear → BatchNorm → ReLU. */
  hidden: number[];
  out: number;
  /** BatchNorm after the last Linear: none (BYOL), without affine (SimSiam), or with affine. */
  lastNorm?: 'none' | 'plain' | 'affine';
  /** BatchNorm in hidden layers (BYOL/SimSiam/Barlow use it; SimCLR's lightly head too). */
  hiddenNorm?: boolean;
  lastBias?: boolean;
}

export interface Mlp extends Module {
  readonly outDim: number;
}

export function createMlp(config: MlpConfig, inDim: number, rng: Rng, name: string): Mlp {
  const { hidden, out, lastNorm = 'none', hiddenNorm = true, lastBias = true } = config;
  const layers: Module[] = [];
  let width = inDim;
  hidden.forEach((h, i) => {
    layers.push(dense(`${name}/fc${i}`, rng, width, h, !hiddenNorm));
    if (hiddenNorm) layers.push(batchNorm(`${name}/bn${i}`, h));
    layers.push(relu);
    width = h;
  });
  layers.push(dense(`${name}/fc${hidden.length}`, rng, width, out, lastBias && lastNorm === 'none'));
  if (lastNorm !== 'none') layers.push(batchNorm(`${name}/bn${hidden.length}`, out, { affine: lastNorm === 'affine' }));
  return { ...sequential(...layers), outDim: out };
}
