/**
 * The worker's datasets: the built-ins, made on request, and the folder the user opened, whose
 * files stay here so another image size is decoded again without asking for the folder. One
 * dataset is loaded at a time; Train uses it without decoding again.
 */
import { createBrowserDecoder } from '../data/browser-decode';
import { LoadCancelled, loadImageFolder, type ImageDecoder, type PickedFile } from '../data/folder-loader';
import { MNIST_ASSET_FILE, isGzip, mnistDataset, parseMnistAsset } from '../data/mnist';
import type { DatasetReport } from '../data/report';
import { shapesDataset } from '../data/shapes';
import { silhouettesDataset } from '../data/silhouettes';
import type { DatasetSplits } from '../engine/dataset';
import type { DatasetSource, FromWorker } from './protocol';

interface Loaded {
  key: string;
  imageSize: number;
  data: DatasetSplits;
  report: DatasetReport;
  /** A folder's training images' paths, in order; null for a built-in set. */
  trainPaths: string[] | null;
}

/** The quick shapes set: a fifth of the standard one, for quick looks and tests. */
const QUICK_SHAPES = { trainCount: 240, testCount: 60 };

/** Files decoded at once: enough to keep the decoder busy, few enough to bound memory for large photos. */
const DECODE_CONCURRENCY = 8;

function builtinReport(data: DatasetSplits, milliseconds: number, notes: string[]): DatasetReport {
  const sets = [data.train, data.test].filter((s) => s !== null);
  return {
    name: data.name,
    origin: 'builtin',
    layout: 'builtin',
    imageSize: data.train.size,
    trainCount: data.train.count,
    testCount: data.test?.count ?? 0,
    classNames: data.classNames,
    classCounts: data.classNames.map((_, label) => sets.reduce((n, s) => n + (s.labels?.filter((l) => l === label).length ?? 0), 0)),
    skipped: [],
    notes,
    milliseconds,
    bytes: sets.reduce((n, s) => n + s.pixels.length, 0),
  };
}

export class WorkerDatasets {
  private loaded: Loaded | null = null;
  private folder: { name: string; files: PickedFile[]; generation: number; asFlat: boolean } | null = null;
  private folderGeneration = 0;
  /** Files of the folder being handed over, before openFolder. */
  private incoming: PickedFile[] = [];
  private loading: { key: string; imageSize: number; controller: AbortController; done: Promise<DatasetSplits> } | null = null;
  private mnist: Promise<ReturnType<typeof parseMnistAsset>> | null = null;
  /** `decode`: the browser's codecs; tests in Node pass pngjs. */
  constructor(
    private readonly post: (message: FromWorker) => void,
    private readonly decode: ImageDecoder = createBrowserDecoder(),
  ) {}

  get current(): DatasetSplits | null {
    return this.loaded?.data ?? null;
  }

  /** The paths of the loaded folder's training images, in order (null for a built-in set or none loaded). */
  get trainPaths(): string[] | null {
    return this.loaded?.trainPaths ?? null;
  }

  cancel(): void {
    this.incoming = [];
    this.loading?.controller.abort();
  }

  receiveFiles(files: PickedFile[], first: boolean): void {
    if (first) this.incoming = [];
    this.incoming.push(...files);
  }

  /** Keeps the files received so far as the folder and decodes them; the previous dataset stays if none can be used. */
  async openFolder(name: string, imageSize: number, asFlat = false): Promise<void> {
    const files = this.incoming;
    this.incoming = [];
    const previous = this.folder;
    this.folder = { name, files, generation: ++this.folderGeneration, asFlat };
    const loaded = await this.request({ kind: 'folder', name }, imageSize);
    if (!loaded) this.folder = previous;
  }

  /** Loads a source at a size and reports it; null (with a datasetError message) when it fails. */
  async request(source: DatasetSource, imageSize: number): Promise<DatasetSplits | null> {
    try {
      return await this.ensure(source, imageSize);
    } catch (error) {
      // A load cancelled because another one started needs no message: the new one reports.
      if (error instanceof LoadCancelled && this.loading) return null;
      const message = error instanceof LoadCancelled ? 'Loading was cancelled; the previous dataset is still selected.' : error instanceof Error ? error.message : String(error);
      this.post({ type: 'datasetError', message, report: error instanceof UnusableFolder ? error.report : null });
      return null;
    }
  }

  /** The dataset for `source` at `imageSize`, loading it unless it is the one already loaded. Throws when it cannot. */
  async ensure(source: DatasetSource, imageSize: number): Promise<DatasetSplits> {
    // A folder is known by the opening it came from: a new folder with the same name is another dataset.
    const key = source.kind === 'builtin' ? `builtin:${source.id}` : `folder:${this.folder?.generation}`;
    if (this.loaded && this.loaded.key === key && this.loaded.imageSize === imageSize) return this.loaded.data;
    // The same data already loading (a folder being opened while a run asks for it): wait for that load.
    if (this.loading && this.loading.key === key && this.loading.imageSize === imageSize) return this.loading.done;
    this.loading?.controller.abort();
    const controller = new AbortController();
    const done = (async () => {
      const { data, report, trainPaths } = await this.load(source, imageSize, controller.signal);
      if (controller.signal.aborted) throw new LoadCancelled();
      this.loaded = { key, imageSize, data, report, trainPaths };
      this.post({ type: 'datasetReady', source, report });
      return data;
    })();
    const loading = { key, imageSize, controller, done };
    this.loading = loading;
    try {
      return await done;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }

  private async load(source: DatasetSource, imageSize: number, signal: AbortSignal): Promise<{ data: DatasetSplits; report: DatasetReport; trainPaths: string[] | null }> {
    const started = performance.now();
    if (source.kind === 'builtin' && source.id === 'silhouettes') {
      this.post({ type: 'loadProgress', progress: { done: 0, total: 0, label: `Generating shape silhouettes at ${imageSize} px` } });
      const data = silhouettesDataset({ size: imageSize });
      return { data, report: builtinReport(data, performance.now() - started, ['Class = shape; the silhouette is dark or light over a colour mosaic; every shape has the same area.']), trainPaths: null };
    }
    if (source.kind === 'builtin' && source.id !== 'mnist') {
      this.post({ type: 'loadProgress', progress: { done: 0, total: 0, label: `Generating coloured shapes at ${imageSize} px` } });
      const counts = source.id === 'shapes-quick' ? QUICK_SHAPES : {};
      const data = shapesDataset({ ...counts, size: imageSize });
      return { data, report: builtinReport(data, performance.now() - started, ['Class = shape; colour, background, position, size, rotation and texture are nuisances.']), trainPaths: null };
    }
    if (source.kind === 'builtin') {
      this.post({ type: 'loadProgress', progress: { done: 0, total: 0, label: `Loading MNIST digits at ${imageSize} px` } });
      const data = mnistDataset(await this.mnistAsset(), imageSize);
      return { data, report: builtinReport(data, performance.now() - started, ['10,000 handwritten digits from the mnist package, 20% of each class held out.']), trainPaths: null };
    }
    if (!this.folder || this.folder.name !== source.name) throw new Error('That folder is no longer loaded: open it again.');
    const { name, files, asFlat } = this.folder;
    const label = `Decoding ${name} at ${imageSize} px`;
    const { data, report, trainPaths } = await loadImageFolder(name, files, this.decode, {
      imageSize,
      asFlat,
      concurrency: DECODE_CONCURRENCY,
      signal,
      onProgress: ({ done, total }) => this.post({ type: 'loadProgress', progress: { done, total, label } }),
    });
    if (!data) throw new UnusableFolder(report);
    return { data, report, trainPaths };
  }

  private mnistAsset(): Promise<ReturnType<typeof parseMnistAsset>> {
    this.mnist ??= (async () => {
      const response = await fetch(new URL(`${import.meta.env.BASE_URL}${MNIST_ASSET_FILE}`, self.location.origin));
      if (!response.ok) throw new Error(`Could not load the MNIST digits from the app (HTTP ${response.status}).`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (!isGzip(bytes)) return parseMnistAsset(bytes);
      return parseMnistAsset(new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()));
    })();
    // A failed fetch is retried next time rather than remembered.
    this.mnist.catch(() => (this.mnist = null));
    return this.mnist;
  }
}

/** A folder with nothing to train on; its report still says why. */
class UnusableFolder extends Error {
  constructor(readonly report: DatasetReport) {
    super(report.notes.at(-1) ?? 'No usable images in this folder.');
  }
}
