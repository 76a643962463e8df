/** File names for a run's exports. Plain data, no tfjs: the page and the worker both use it. */
import type { TrainConfig } from './config';
import { backbonePresetOf } from './presets';

/** "byol-convnet-tiny-step120": method, encoder and step, so exports of different runs do not collide. */
export function runFileBaseName(config: Pick<TrainConfig, 'method' | 'backbone'>, step: number): string {
  const encoder = backbonePresetOf(config.backbone) ?? `${config.backbone.kind}-custom`;
  return `${config.method}-${encoder}-step${step}`;
}
