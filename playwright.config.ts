import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath } from './src/runner/chromium-flags';

/**
 * End-to-end tests drive the built app in Debian's Chromium (never a downloaded browser). WebGPU
 * runs headless on SwiftShader (CPU) with --enable-unsafe-webgpu: correct but slow, so the tests
 * use tiny configurations. The browser and its flags are the runner's (CHROMIUM_PATH, CHROMIUM_FLAGS).
 */
/** E2E_PORT lets several checkouts run their end-to-end tests side by side. */
const port = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: chromiumPath(),
      args: chromiumArgs(),
    },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
