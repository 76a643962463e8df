/**
 * The backend measured fastest for a configuration on this device (with WebAssembly's thread count,
 * stored as "wasm:2"), kept in localStorage so the next start of the same configuration does not
 * measure again. Storage refused (private mode, full) only
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
  const [name, threads] = (remembered ?? '').split(':');
  const found = BACKEND_ORDER.find((b) => b === name) ?? null;
  const threadCount = Number(threads);
  return found && Number.isInteger(threadCount) && threadCount >= 1 ? { kind: 'fastest', remembered: found, threads: threadCount } : { kind: 'fastest', remembered: found };
}

/** Keeps a measured choice for the configuration it was measured on. */
export function rememberChoice(info: BackendInfo, available: readonly BackendMeasurement[], config: TrainConfig): void {
  if (info.choice !== 'measured') return;
  try {
    localStorage.setItem(PREFIX + choiceKey(available, config), info.threads === undefined ? info.name : `${info.name}:${info.threads}`);
  } catch {
    // Not kept: the next start measures again.
  }
}
