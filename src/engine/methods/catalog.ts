/**
 * The method catalog the worker sends to the page: what the UI needs to know of each method
 * (labels, classroom paragraph, live settings it uses, option specs, both presets) as plain data.
 * Building it loads the methods (and tfjs); the page imports only the `MethodSummary` type.
 */
import type { PresetName, TrainConfig } from '../config';
import type { MethodOptionSpecs } from './options';
import { METHODS } from './registry';
import type { MethodDefinition } from './types';

export interface MethodSummary {
  id: string;
  label: string;
  family: MethodDefinition['family'];
  explanation: string;
  uses: MethodDefinition['uses'];
  options: MethodOptionSpecs;
  defaults: Record<PresetName, TrainConfig>;
}

export function methodCatalog(): MethodSummary[] {
  return METHODS.map((m) => ({
    id: m.id,
    label: m.label,
    family: m.family,
    explanation: m.explanation,
    uses: m.uses,
    options: structuredClone(m.options),
    defaults: { reference: m.defaults('reference'), classroom: m.defaults('classroom') },
  }));
}
