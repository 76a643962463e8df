/**
 * Headless Chromium for the runner and the benchmark (Node only). The built app (dist/, rebuilt
 * when the sources are newer) and the dataset blobs are served by a small local HTTP server; the
 * system Chromium is driven with Playwright, never a downloaded browser (flags: chromium-flags.ts).
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatasetSplits } from '../engine/dataset';
import { datasetBlobs, type DatasetManifest, type FromHeadless, type HeadlessJob } from '../headless/protocol';
import type { BackendName } from '../worker/backend-labels';
import { BUILT_APP_HEADERS, chromiumArgs, chromiumPath } from './chromium-flags';
import type { RunPlan, RunRecord } from './run';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DIST = join(REPO, 'dist');

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}. Install it (Debian: apt-get install chromium), set CHROMIUM_PATH, or use --backend cpu to run in Node.`);
  }
  return chromium.launch({ executablePath, args: chromiumArgs() });
}

/** Newest modification time under `path`; unit tests are not part of the build. */
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path)
    .filter((name) => !name.endsWith('.test.ts'))
    .reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/** Builds dist/ with Vite when it is missing or older than the sources it is made from. */
export async function ensureBuilt(log: (line: string) => void): Promise<void> {
  const built = join(DIST, 'headless.html');
  const sources = ['src', 'index.html', 'headless.html', 'vite.config.ts', 'package.json'].map((p) => join(REPO, p));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  log('Building the app for headless Chromium (vite build)…');
  await new Promise<void>((resolveBuild, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveBuild() : reject(new Error(`vite build failed (exit ${code}):\n${output}`))));
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves dist/ and in-memory blobs on 127.0.0.1 (a secure context, as WebGPU requires) on a free port. */
export async function serveApp(blobs: Map<string, Uint8Array>, port = 0): Promise<StaticServer> {
  const server = createServer((request, response) => {
    // As `vite preview`: cross-origin isolation (the WebAssembly backend's threads need it) and the content security policy.
    for (const [name, value] of Object.entries(BUILT_APP_HEADERS)) response.setHeader(name, value);
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const blob = blobs.get(path);
    if (blob) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.byteLength });
      response.end(blob);
      return;
    }
    const file = normalize(join(DIST, path === '/' ? 'index.html' : path));
    if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${actual}`,
    close: () => new Promise((resolveClose) => server.close(() => resolveClose())),
  };
}

/** A browser, the server and the headless page, ready for jobs; `close()` ends all three. */
export interface HeadlessSession {
  browser: Browser;
  server: StaticServer;
  manifest: DatasetManifest;
  /** Runs a job in the headless page, handing every message to `onMessage`; rejects with the job's error. */
  run(job: HeadlessJob, onMessage: (message: FromHeadless) => void): Promise<void>;
  close(): Promise<void>;
}

export async function openHeadlessSession(data: DatasetSplits, log: (line: string) => void): Promise<HeadlessSession> {
  await ensureBuilt(log);
  const { manifest, blobs } = datasetBlobs(data);
  const server = await serveApp(blobs);
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const openBrowser = browser;
    return {
      browser,
      server,
      manifest,
      async run(job, onMessage) {
        const page: Page = await openBrowser.newPage();
        try {
          await page.exposeFunction('reportHeadless', (message: FromHeadless) => onMessage(message));
          page.on('pageerror', (error) => log(`page error: ${error.message}`));
          await page.goto(`${server.origin}/headless.html`);
          await page.waitForFunction(() => window.siameseHeadless !== undefined);
          await page.evaluate((j) => window.siameseHeadless.run(j), job);
        } finally {
          await page.close();
        }
      },
      async close() {
        await openBrowser.close();
        await server.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server.close();
    throw error;
  }
}

export async function trainInChromium(
  options: { plan: RunPlan; data: DatasetSplits; backend: BackendName | null; log: (line: string) => void },
  emit: (record: RunRecord) => void,
): Promise<void> {
  const session = await openHeadlessSession(options.data, options.log);
  try {
    await session.run({ kind: 'train', plan: options.plan, backend: options.backend, dataset: session.manifest }, (message) => {
      if (message.type === 'record') emit(message.record);
    });
  } catch (error) {
    // page.evaluate wraps the page's error; the runner's own message is the useful part.
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(message.replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0]);
  } finally {
    await session.close();
  }
}
