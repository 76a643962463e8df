/// <reference lib="webworker" />
/**
 * The training worker: the Train tab and Compare each start one. Everything it does is the
 * session host's; this file only connects the host to the worker's message port.
 */
import './wasm-setup';
import type { ToWorker } from './protocol';
import { SessionHost } from './session-host';

declare const self: DedicatedWorkerGlobalScope;

const host = new SessionHost((message, transfer = []) => self.postMessage(message, transfer));

self.onmessage = (event: MessageEvent<ToWorker>) => {
  void host.handle(event.data);
};
