/// <reference lib="webworker" />
/**
 * The training worker: the Train tab and Compare each start one. Everything it does is the
 * session host's; this file only connects the host to the worker's message port.
 */
import './wasm-setup';
import type { LifeLockHeld, ToWorker } from './protocol';
import { SessionHost } from './session-host';

declare const self: DedicatedWorkerGlobalScope;

const host = new SessionHost((message, transfer = []) => self.postMessage(message, transfer));

/**
 * Holds `name` until this worker ends: a crash, an out-of-memory kill or terminate() releases it, and
 * the page, queued on the same lock, hears of it at once (a busy worker cannot answer pings).
 */
function holdUntilExit(name: string): void {
  void navigator.locks.request(name, () => {
    self.postMessage({ type: 'lifeLockHeld' } satisfies LifeLockHeld);
    return new Promise<never>(() => {});
  });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'init' && message.lifeLock && navigator.locks) holdUntilExit(message.lifeLock);
  void host.handle(message);
};
