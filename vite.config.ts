/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { mnistAssetPlugin } from './scripts/mnist-asset';
import { CROSS_ORIGIN_ISOLATION } from './src/runner/chromium-flags';

export default defineConfig({
  plugins: [react(), mnistAssetPlugin()],
  worker: { format: 'es' },
  // Never opens a browser: `npm start` prints the address (no desktop, no error; see npm-start.test.ts).
  server: { port: 5173, strictPort: false, open: false, headers: CROSS_ORIGIN_ISOLATION },
  preview: { port: 4173, strictPort: true, headers: CROSS_ORIGIN_ISOLATION },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // headless.html: the page `npm run train` / `npm run bench` drive in headless Chromium.
    rollupOptions: { input: { main: fileURLToPath(new URL('./index.html', import.meta.url)), headless: fileURLToPath(new URL('./headless.html', import.meta.url)) } },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/engine/testing/setup.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
