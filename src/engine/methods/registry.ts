/** Every method the app offers, in the order the UI lists them. The first is the app's default. */
import { barlow } from './barlow';
import { byol } from './byol';
import { moby } from './moby';
import { mocov2 } from './mocov2';
import { npid } from './npid';
import { rotation } from './rotation';
import { simclr } from './simclr';
import { simsiam } from './simsiam';
import { supcon } from './supcon';
import type { MethodDefinition } from './types';
import { unigrad } from './unigrad';
import { vicreg } from './vicreg';

export const METHODS: readonly MethodDefinition[] = [byol, simsiam, simclr, mocov2, moby, npid, supcon, barlow, vicreg, unigrad, rotation];

export function getMethod(id: string): MethodDefinition {
  const method = METHODS.find((m) => m.id === id);
  if (!method) throw new Error(`Unknown method "${id}". Known methods: ${METHODS.map((m) => m.id).join(', ')}`);
  return method;
}
