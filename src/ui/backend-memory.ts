/**
 * The backend measured fastest for a configuration on this device, kept in localStorage so the next
 * start of the same configuration does not measure again. Storage refused (private mode, full) only
 * means measuring again.
 */
import { BACKEND_ORDER, choiceKey, type BackendInfo, type BackendMeasurement, type BackendName, type BackendRequest } from '../worker/backend-labels';
import type { TrainConfig } from '../engine/config';

const PREFIX = 'siamese-playground.backend:';

/** What a start asks for: the user's fixed choice, or the fastest (remembered when measured before). */
export function backendRequest(setting: BackendName | 'fastest', available: readonly BackendMeasurement[], config: TrainConfig): BackendRequest {
  if (setting !== 'fastest') return { kind: 'use', name: setting };
  let remembered: string | null = null;
  try {
    remembered = localStorage.getItem(PREFIX + choiceKey(available, config));
  } catch {
    // No storage: measure.
  }
  return { kind: 'fastest', remembered: BACKEND_ORDER.find((name) => name === remembered) ?? null };
}

/** The user's fixed choice, or the fastest measured afresh (for work whose configuration the worker builds: active learning). */
export function unrememberedBackendRequest(setting: BackendName | 'fastest'): BackendRequest {
  return setting === 'fastest' ? { kind: 'fastest', remembered: null } : { kind: 'use', name: setting };
}

/** Keeps a measured choice for the configuration it was measured on. */
export function rememberChoice(info: BackendInfo, available: readonly BackendMeasurement[], config: TrainConfig): void {
  if (info.choice !== 'measured') return;
  try {
    localStorage.setItem(PREFIX + choiceKey(available, config), info.name);
  } catch {
    // Not kept: the next start measures again.
  }
}
