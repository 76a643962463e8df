/** Network pieces several methods build the same way. */
import type * as tf from '@tensorflow/tfjs';
import { createBackbone, type Backbone } from '../backbones';
import type { TrainConfig } from '../config';
import { createMlp, type Mlp } from '../heads';
import { sequential, type Module } from '../nn';
import type { Rng } from '../random';

/** A backbone followed by a projector. */
export interface ProjectedEncoder {
  readonly backbone: Backbone;
  readonly projector: Mlp;
  /** Backbone and projector as one module (for copies and EMA). */
  readonly module: Module;
  project(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

export function createProjectedEncoder(config: TrainConfig, rng: Rng, name: string): ProjectedEncoder {
  const backbone = createBackbone(config.backbone, rng, `${name}/backbone`);
  const projector = createMlp(config.projector, backbone.featureDim, rng, `${name}/projector`);
  const module = sequential(backbone, projector);
  return { backbone, projector, module, project: (x, training) => module.apply(x, training) as tf.Tensor2D };
}
