/**
 * Every method the app offers, in the order the UI lists them; the first is the app's default.
 * Adding a method is one file that exports its `MethodDefinition` and one `registerMethod` line here.
 */
import { barlow } from './barlow';
import { byol } from './byol';
import { context } from './context';
import { exemplar } from './exemplar';
import { inpainting } from './inpainting';
import { jigsaw } from './jigsaw';
import { moby } from './moby';
import { mobyv2al } from './mobyv2al';
import { mocov2 } from './mocov2';
import { npid } from './npid';
import { optionProblems } from './options';
import { rotation } from './rotation';
import { simclr } from './simclr';
import { simsiam } from './simsiam';
import { supcon } from './supcon';
import type { MethodDefinition } from './types';
import { unigrad } from './unigrad';
import { vicreg } from './vicreg';

const registered: MethodDefinition[] = [];

/** The registered methods, in registration order. */
export const METHODS: readonly MethodDefinition[] = registered;

/**
 * Adds a method to the app. Refuses a second method with the same id, and a method whose declared
 * option defaults or preset options its own option specs do not allow.
 */
export function registerMethod(definition: MethodDefinition): MethodDefinition {
  const existing = registered.find((m) => m.id === definition.id);
  if (existing) throw new Error(`Cannot register "${definition.label}": the method id "${definition.id}" is already taken by ${existing.label}.`);
  const problems = (['reference', 'classroom'] as const).flatMap((preset) =>
    optionProblems(definition.options, definition.defaults(preset).options).map((problem) => `${preset} preset: ${problem}`),
  );
  if (problems.length > 0) throw new Error(`Cannot register "${definition.label}": ${problems.join('; ')}.`);
  registered.push(definition);
  return definition;
}

registerMethod(byol);
registerMethod(simsiam);
registerMethod(simclr);
registerMethod(mocov2);
registerMethod(moby);
registerMethod(mobyv2al);
registerMethod(npid);
registerMethod(supcon);
registerMethod(barlow);
registerMethod(vicreg);
registerMethod(unigrad);
registerMethod(rotation);
registerMethod(context);
registerMethod(jigsaw);
registerMethod(exemplar);
registerMethod(inpainting);

export function getMethod(id: string): MethodDefinition {
  const method = registered.find((m) => m.id === id);
  if (!method) throw new Error(`Unknown method "${id}". Known methods: ${registered.map((m) => m.id).join(', ')}`);
  return method;
}
