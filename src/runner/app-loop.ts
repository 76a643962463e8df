/**
 * The benchmark's in-app measurement: the real page (React, charts, the store) and the real training
 * worker with its default report cadence, set up through the UI as a user would, on a forced
 * backend. Throughput is taken between step-counter changes seen by the page after warm-up steps;
 * long tasks (main-thread tasks over 50 ms) come from a PerformanceObserver installed before the
 * page loads, and the CPU time of main-thread tasks from a Chromium trace of the same window.
 */
import type { Browser } from '@playwright/test';
import type { PresetName } from '../engine/config';
import type { BackbonePreset } from '../engine/presets';
import { backendLabel, type BackendName } from '../worker/backend-labels';

export interface AppLoopSetup {
  method: string;
  preset: PresetName;
  encoder: BackbonePreset;
  imageSize: number;
  batchSize: number;
  totalSteps: number;
}

export interface AppLoopResult {
  /** Steps the measurement spans and how long they took, by the page's clock. */
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
  /** Longest main-thread task by the page's clock (the Long Tasks API: wall time, over 50 ms only). */
  longestTaskMs: number;
  tasksOver50Ms: number;
  /**
   * Most CPU time any main-thread task used, from a Chromium trace of the same window: when the wall
   * time is far above it, the thread was waiting for a core (an overloaded machine), not working.
   */
  longestTaskCpuMs: number | null;
}

declare global {
  interface Window {
    benchLongTasks?: { start: number; duration: number }[];
  }
}

export async function measureAppLoop(
  browser: Browser,
  origin: string,
  backend: BackendName,
  setup: AppLoopSetup,
  /** Measured after `warmSteps` steps and `warmUpSeconds` of training, as the bare engine's warm-up. */
  options: { warmSteps: number; warmUpSeconds: number; measureSteps: number; timeoutMs: number },
): Promise<AppLoopResult> {
  const page = await browser.newPage();
  try {
    await page.addInitScript(() => {
      window.benchLongTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.benchLongTasks?.push({ start: entry.startTime, duration: entry.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${origin}/?backend=${backend}`);
    const status = page.getByRole('status', { name: 'Training status' });
    const backendText = status.getByLabel('Backend', { exact: true });
    await page.waitForFunction(() => !document.querySelector('[aria-label="Backend"]')?.textContent?.includes('starting'), undefined, { timeout: 60_000 });
    const shown = (await backendText.textContent()) ?? '';
    if (!shown.includes(backendLabel(backend))) throw new Error(`the app fell back: ${(await status.textContent()) ?? shown}`);

    await page.getByLabel('Method').selectOption(setup.method);
    await page.getByLabel('Preset').selectOption(setup.preset);
    await page.getByLabel('Encoder').selectOption(setup.encoder);
    await page.getByLabel('Image size').selectOption(String(setup.imageSize));
    for (const [label, value] of [['Batch size', setup.batchSize], ['Total steps', setup.totalSteps]] as const) {
      const field = page.getByLabel(label, { exact: true });
      await field.fill(String(value));
      await field.press('Enter');
    }
    await page.getByRole('button', { name: 'Train', exact: true }).click();

    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    // Sampled in the page: every change of the step counter with the page's timestamp, until enough steps passed.
    const samples = await page.evaluate(
      ({ warmSteps, warmUpSeconds, measureSteps, timeoutMs }) =>
        new Promise<{ time: number; step: number }[]>((resolve, reject) => {
          const seen: { time: number; step: number }[] = [];
          const started = performance.now();
          const timer = setInterval(() => {
            const state = document.querySelector('.state')?.textContent ?? '';
            const step = Number(document.querySelector('[data-testid="step-counter"]')?.textContent ?? 0);
            if (state === 'Error' || state === 'Paused' || state === 'Finished') {
              clearInterval(timer);
              reject(new Error(`the run stopped (${state}): ${document.querySelector('.status-message')?.textContent ?? ''}`));
              return;
            }
            const warm = step >= warmSteps && performance.now() - started >= warmUpSeconds * 1000;
            if (warm && step !== seen[seen.length - 1]?.step) seen.push({ time: performance.now(), step });
            if (seen.length > 0 && seen[seen.length - 1].step - seen[0].step >= measureSteps) {
              clearInterval(timer);
              resolve(seen);
            } else if (performance.now() - started > timeoutMs) {
              clearInterval(timer);
              if (seen.length >= 2) resolve(seen);
              else reject(new Error(`fewer than two reports within ${timeoutMs / 1000} s`));
            }
          }, 20);
        }),
      options,
    );
    const longestTaskCpuMs = mainThreadCpuMs(await browser.stopTracing());
    const first = samples[0];
    const last = samples[samples.length - 1];
    const longTasks = ((await page.evaluate(() => window.benchLongTasks ?? [])) as { start: number; duration: number }[]).filter(
      (t) => t.start + t.duration >= first.time && t.start <= last.time,
    );
    await page.getByRole('button', { name: 'Pause' }).click();
    const seconds = (last.time - first.time) / 1000;
    const steps = last.step - first.step;
    return {
      steps,
      seconds,
      stepsPerSecond: steps / seconds,
      imagesPerSecond: (steps * setup.batchSize) / seconds,
      longestTaskMs: longTasks.reduce((m, t) => Math.max(m, t.duration), 0),
      tasksOver50Ms: longTasks.filter((t) => t.duration > 50).length,
      longestTaskCpuMs,
    };
  } finally {
    await page.close();
  }
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  tdur?: number;
  args?: { name?: string };
}

/** The largest thread CPU time (ms) of a top-level task on a renderer main thread, or null if the trace has none. */
function mainThreadCpuMs(trace: Buffer): number | null {
  const parsed = JSON.parse(trace.toString('utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
  const mainThreads = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const cpu = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.tdur !== undefined && mainThreads.has(`${e.pid}:${e.tid}`)).map((e) => (e.tdur ?? 0) / 1000);
  return cpu.length > 0 ? Math.max(...cpu) : null;
}

export interface FirstStepResult {
  /** From pressing Train to step 1 on screen, by the page's clock. */
  milliseconds: number;
  /** The status bar's account of the backend choice. */
  backendChoice: string;
}

/**
 * Pressing Train on the default setup of a fresh page (new browser context: nothing remembered, the
 * backend chosen by measurement) until the step counter shows 1, timed in the page.
 */
export async function measureFirstStep(browser: Browser, origin: string, timeoutMs: number): Promise<FirstStepResult> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    const train = page.getByRole('button', { name: 'Train', exact: true });
    await train.waitFor();
    await page.waitForFunction(() => !(document.querySelector('button.primary') as HTMLButtonElement | null)?.disabled, undefined, { timeout: timeoutMs });
    // Given as text: the runner's TypeScript loader wraps named functions in a helper (__name) that
    // the page does not have.
    const milliseconds = await page.evaluate<number>(`new Promise((resolve, reject) => {
      const timeout = ${timeoutMs};
      const counter = () => Number(document.querySelector('[data-testid="step-counter"]')?.textContent ?? 0);
      const start = performance.now();
      document.querySelector('button.primary').click();
      const poll = () => {
        if (counter() >= 1) resolve(performance.now() - start);
        else if (performance.now() - start > timeout) reject(new Error('no step within ' + timeout / 1000 + ' s'));
        else requestAnimationFrame(poll);
      };
      poll();
    })`);
    const backendChoice = (await page.getByRole('status', { name: 'Training status' }).getByLabel('Backend choice').textContent()) ?? '';
    return { milliseconds, backendChoice };
  } finally {
    await page.close();
  }
}
