/**
 * Which Chromium to drive and with which flags: shared by the runner, the benchmark and the
 * end-to-end tests (playwright.config.ts), so all three run the browser the same way. WebGPU needs
 * --enable-unsafe-webgpu in headless mode; without a GPU it runs on SwiftShader (on the CPU).
 */
export const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--no-sandbox'];

/** Debian's Chromium unless CHROMIUM_PATH names another (never a downloaded browser). */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/**
 * Extra Chromium flags from CHROMIUM_FLAGS (space-separated), replacing the defaults when set:
 * e.g. "--enable-unsafe-webgpu --enable-features=Vulkan --use-vulkan" on a machine with a real GPU,
 * where forcing SwiftShader would hide it.
 */
export function chromiumArgs(): string[] {
  const custom = process.env.CHROMIUM_FLAGS?.trim();
  return custom ? custom.split(/\s+/) : CHROMIUM_ARGS;
}

/**
 * The headers every server of the app sends (Vite's dev server and preview, the runner's): a
 * cross-origin isolated page may share memory between threads, which the WebAssembly backend's
 * threaded build needs. Static hosting must send them too (README).
 */
export const CROSS_ORIGIN_ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } as const;

/**
 * What the built app may load and contact: only its own origin (images stay on the machine), plus
 * what the app itself makes in memory: blob: workers and scripts (the WebAssembly backend's threads),
 * data:/blob: images (previews, chart exports), compiled WebAssembly, inline style attributes (charts).
 * In the built pages as a <meta> tag, and as a header from the preview and runner servers, which also
 * covers the workers (a worker follows its own response's policy, not the page's).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** The headers of a server of the built app: cross-origin isolation and the content security policy. */
export const BUILT_APP_HEADERS = { ...CROSS_ORIGIN_ISOLATION, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } as const;
