/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { mnistAssetPlugin } from './scripts/mnist-asset';
import { BUILT_APP_HEADERS, CONTENT_SECURITY_POLICY, CROSS_ORIGIN_ISOLATION } from './src/runner/chromium-flags';

/** The content security policy as a <meta> tag in the built pages (the dev server's React refresh needs inline scripts). */
function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'content-security-policy-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  plugins: [react(), mnistAssetPlugin(), contentSecurityPolicyMeta()],
  worker: { format: 'es' },
  // Never opens a browser: `npm start` prints the address (no desktop, no error; see npm-start.test.ts).
  server: { port: 5173, strictPort: false, open: false, headers: CROSS_ORIGIN_ISOLATION },
  preview: { port: 4173, strictPort: true, headers: BUILT_APP_HEADERS },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // headless.html: the page `npm run train` / `npm run bench` drive in headless Chromium.
    rollupOptions: { input: { main: fileURLToPath(new URL('./index.html', import.meta.url)), headless: fileURLToPath(new URL('./headless.html', import.meta.url)) } },
  },
  test: {
    environment: 'node',
    testTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'cpu', include: ['src/**/*.test.ts'], setupFiles: ['src/engine/testing/setup.ts'] } },
      // The engine's tests once more on the wasm backend and its training kernels (src/kernels/wasm-kernels.test.ts
      // compares the two backends itself), but for the CPU backend's own kernels and the tests that never touch tfjs.
      {
        extends: true,
        test: {
          name: 'wasm',
          include: ['src/engine/**/*.test.ts'],
          exclude: ['src/engine/cpu-kernels.test.ts', 'src/engine/collapse.test.ts', 'src/engine/sweeps.test.ts'],
          setupFiles: ['src/engine/testing/setup-wasm.ts'],
        },
      },
    ],
  },
});
