/**
 * The page's link to one training worker (the Train tab and Compare each have one): typed messages
 * out, replies in, the one export request in flight, and a folder's files handed over in chunks.
 * It also notices the worker dying (a crash, the browser killing it for memory): the worker holds a
 * Web Lock for its lifetime and this side waits on the same lock, granted the moment the worker is gone.
 */
import type { PickedFile } from '../data/folder-loader';
import type { BackendName } from '../worker/backend-labels';
import type { FromWorker, LifeLockHeld, ToWorker } from '../worker/protocol';

type ExportReply = Extract<FromWorker, { type: 'encoderExported' | 'embeddingsExported' | 'pytorchExported' | 'weightsImported' }>;

function isExportReply(message: FromWorker): message is ExportReply {
  return message.type === 'encoderExported' || message.type === 'embeddingsExported' || message.type === 'pytorchExported' || message.type === 'weightsImported';
}

/**
 * Cloning a File costs the page 0.2–2 ms (more on a busy machine), so files go in small messages
 * until this much time has passed, then the page gets its turn.
 */
const FILES_PER_MESSAGE = 10;
const HANDOVER_SLICE_MS = 12;

export class WorkerConnection {
  private worker: Worker | null = null;
  /** The one export or import in flight, answered by the worker's encoderExported / embeddingsExported / pytorchExported / weightsImported / exportFailed. */
  private pendingExport: { resolve(reply: ExportReply): void; reject(error: Error): void } | null = null;
  /** Counts handovers, so a cancelled or replaced one stops sending. */
  private handover = 0;
  private handingOver = false;
  private preferred: BackendName | undefined;

  constructor(
    /** How the UI names this worker in messages ("training", "comparison"). */
    readonly name: string,
    private readonly receive: (message: FromWorker) => void,
    /** Called once per worker that died; a new one can be started at once. */
    private readonly onLost: () => void = () => {},
  ) {}

  /** Starts the worker (once) and asks it to pick a backend; `preferred` skips the faster ones. */
  start(preferred?: BackendName): void {
    if (this.worker) return;
    this.preferred = preferred;
    const worker = new Worker(new URL('../worker/training.worker.ts', import.meta.url), { type: 'module' });
    const lifeLock = `siamese-playground.worker:${crypto.randomUUID()}`;
    this.worker = worker;
    worker.onmessage = (event: MessageEvent<FromWorker | LifeLockHeld>) => {
      // A replaced worker's last messages are not this connection's any more.
      if (this.worker !== worker) return;
      if (event.data.type === 'lifeLockHeld') this.watch(worker, lifeLock);
      else if (!this.settleExport(event.data)) this.receive(event.data);
    };
    worker.onerror = (event) => this.receive({ type: 'state', state: 'error', message: `The ${this.name} worker crashed: ${event.message}` });
    this.send({ type: 'init', backend: preferred, lifeLock: typeof navigator !== 'undefined' && navigator.locks ? lifeLock : undefined });
  }

  /** A new worker in place of one that died, with the backend preference of the first. */
  restart(): void {
    this.start(this.preferred);
  }

  /** Ends this worker and starts another with the same backend preference: after a fault its backend cannot survive (a lost GPU device). */
  replace(): void {
    const worker = this.worker;
    this.forget();
    worker?.terminate();
    this.start(this.preferred);
  }

  /** Ends the worker as a crash would (the diagnostics panel's fault injection): the page finds out as it would then. */
  simulateCrash(): void {
    this.worker?.terminate();
  }

  /** Granted once the worker no longer holds its life lock, that is, once it is gone. */
  private watch(worker: Worker, lifeLock: string): void {
    void navigator.locks.request(lifeLock, () => {
      if (this.worker !== worker) return;
      this.forget();
      this.onLost();
    });
  }

  /** Drops the current worker: its handover stops and its pending export fails. */
  private forget(): void {
    this.worker = null;
    this.handover += 1;
    this.handingOver = false;
    const pending = this.pendingExport;
    this.pendingExport = null;
    pending?.reject(new Error(`The ${this.name} worker stopped.`));
  }

  send(message: ToWorker, transfer: Transferable[] = []): void {
    if (!this.worker) throw new Error(`The ${this.name} worker has not been started`);
    this.worker.postMessage(message, transfer);
  }

  requestExport(request: Extract<ToWorker, { type: 'exportEncoder' | 'exportEmbeddings' | 'exportPytorch' | 'importWeights' }>, transfer: Transferable[] = []): Promise<ExportReply> {
    if (this.pendingExport) return Promise.reject(new Error('An export is already being prepared.'));
    return new Promise((resolve, reject) => {
      this.pendingExport = { resolve, reject };
      this.send(request, transfer);
    });
  }

  /**
   * File objects are structured-cloned to the worker (a reference, not a copy: images never leave
   * the machine), in chunks with a pause between them so the page keeps responding; then the worker
   * decodes them. False when the handover was cancelled or replaced.
   */
  async openFolder(name: string, files: PickedFile[], imageSize: number, onProgress: (done: number, total: number) => void, options: { asFlat?: boolean } = {}): Promise<boolean> {
    const handover = ++this.handover;
    this.handingOver = true;
    let sent = 0;
    let shown = 0;
    while (sent < files.length) {
      if (handover !== this.handover) return false;
      const sliceStart = performance.now();
      while (sent < files.length && performance.now() - sliceStart < HANDOVER_SLICE_MS) {
        this.send({ type: 'folderFiles', files: files.slice(sent, sent + FILES_PER_MESSAGE), first: sent === 0 });
        sent += FILES_PER_MESSAGE;
      }
      // Progress redraws a panel: at most ten times a second.
      if (performance.now() - shown >= 100) {
        shown = performance.now();
        onProgress(Math.min(sent, files.length), files.length);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (handover !== this.handover) return false;
    this.handingOver = false;
    this.send({ type: 'openFolder', name, imageSize, ...options });
    return true;
  }

  /** Stops a handover in progress (true when one was) and any decoding in the worker. */
  cancelLoad(): boolean {
    const wasHandingOver = this.handingOver;
    if (wasHandingOver) {
      // The worker drops the files it received.
      this.handover += 1;
      this.handingOver = false;
    }
    this.send({ type: 'cancelLoad' });
    return wasHandingOver;
  }

  /** Settles the pending export with a worker reply; true when the message was such a reply. */
  private settleExport(message: FromWorker): boolean {
    if (!isExportReply(message) && message.type !== 'exportFailed') return false;
    const pending = this.pendingExport;
    this.pendingExport = null;
    if (message.type === 'exportFailed') pending?.reject(new Error(message.message));
    else pending?.resolve(message);
    return true;
  }
}
