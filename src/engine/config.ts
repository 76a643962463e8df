/**
 * The full configuration of a training run. Each method file supplies its defaults through
 * presets; the UI, the URL and the headless runner all edit this one shape.
 */
import type { AugmentationConfig } from './augment';
import type { BackboneConfig } from './presets';
import type { MlpConfig } from './heads';
import type { OptimizerConfig } from './optimizers';

export type PresetName = 'reference' | 'classroom';

export interface TrainConfig {
  method: string;
  preset: PresetName;
  seed: number;
  imageSize: number;
  batchSize: number;
  totalSteps: number;
  backbone: BackboneConfig;
  projector: MlpConfig;
  /** Predictor head for asymmetric methods (BYOL, SimSiam, MoBY); null elsewhere. */
  predictor: MlpConfig | null;
  optimizer: OptimizerConfig;
  /** Peak learning rate actually applied (already scaled for the batch size). */
  learningRate: number;
  warmupSteps: number;
  /** Base momentum of the target/key encoder; the schedule raises it to 1. */
  tau: number;
  tauSchedule: boolean;
  temperature: number;
  augmentations: AugmentationConfig;
  /** Method-specific numbers: queue size, λ, memory-bank momentum, … */
  options: Record<string, number>;
}

/** The settings that may change while a run is going; everything else needs a new run. */
export type LiveSettings = Pick<TrainConfig, 'tau' | 'tauSchedule' | 'batchSize' | 'learningRate' | 'temperature' | 'augmentations' | 'totalSteps'>;
