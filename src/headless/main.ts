/**
 * The headless page: one hook, `window.siameseHeadless.run(job)`, that starts a worker for the job
 * and forwards its messages to `window.reportHeadless` (which Playwright exposes to Node).
 */
import type { FromHeadless, HeadlessJob } from './protocol';

declare global {
  interface Window {
    siameseHeadless: { run(job: HeadlessJob): Promise<void> };
    reportHeadless?: (message: FromHeadless) => Promise<void>;
  }
}

window.siameseHeadless = {
  run(job) {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./headless.worker.ts', import.meta.url), { type: 'module' });
      worker.onerror = (event) => {
        worker.terminate();
        reject(new Error(`The headless worker crashed: ${event.message}`));
      };
      // Delivered one after another, and all of them before the job settles.
      let delivered: Promise<unknown> = Promise.resolve();
      worker.onmessage = (event: MessageEvent<FromHeadless>) => {
        const message = event.data;
        delivered = delivered.then(() => window.reportHeadless?.(message));
        if (message.type === 'done' || message.type === 'error') {
          worker.terminate();
          void delivered.then(() => (message.type === 'done' ? resolve() : reject(new Error(message.message))));
        }
      };
      worker.postMessage(job);
    });
  },
};
