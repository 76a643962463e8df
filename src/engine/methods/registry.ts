/** Every method the app offers, in the order the UI lists them. */
import { byol } from './byol';
import type { MethodDefinition } from './types';

export const METHODS: readonly MethodDefinition[] = [byol];

export function getMethod(id: string): MethodDefinition {
  const method = METHODS.find((m) => m.id === id);
  if (!method) throw new Error(`Unknown method "${id}". Known methods: ${METHODS.map((m) => m.id).join(', ')}`);
  return method;
}
