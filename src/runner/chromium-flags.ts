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
