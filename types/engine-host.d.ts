/**
 * The few host APIs the engine uses. Browsers, workers and Node all have them; declaring just these
 * (instead of the DOM, WebWorker or Node libraries) keeps every other host global out of src/engine:
 * `npm run typecheck` checks the engine with tsconfig.engine.json, which has no DOM.
 */
declare const performance: { now(): number };
declare function structuredClone<T>(value: T): T;
declare function setTimeout(callback: () => void, milliseconds?: number): unknown;
/** UTF-8 for the safetensors header (src/engine/safetensors.ts). */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  decode(input?: Uint8Array): string;
}
