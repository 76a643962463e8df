/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { mnistAssetPlugin } from './scripts/mnist-asset';

export default defineConfig({
  plugins: [react(), mnistAssetPlugin()],
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  preview: { port: 4173, strictPort: true },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/engine/testing/setup.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
