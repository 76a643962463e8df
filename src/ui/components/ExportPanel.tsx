import { useState } from 'react';
import { runFileBaseName } from '../../engine/run-names';
import { downloadFile } from '../download';
import { embeddingsToProjectorTsv, metricsToCsv, metricsToJson } from '../export';
import { useAppStore } from '../store';
import { training } from '../worker-client';
import { pytorchProjectZip } from '../zip';

/** Downloads of the current run: the trained encoder as a LayersModel, the metric history, the held-out embeddings. */
export function ExportPanel() {
  const runState = useAppStore((s) => s.runState);
  const history = useAppStore((s) => s.history);
  const markers = useAppStore((s) => s.markers);
  const runConfig = useAppStore((s) => s.runConfig);
  const dataset = useAppStore((s) => s.dataset);
  const step = useAppStore((s) => s.progress?.steps ?? 0);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hasModel = runState === 'running' || runState === 'paused' || runState === 'finished';
  const hasMetrics = history.length > 0 && runConfig !== null;

  const downloadEncoder = async () => {
    setBusy(true);
    setError(null);
    setNotice('Preparing the encoder…');
    try {
      const files = await training.exportEncoder();
      downloadFile(`${files.baseName}.model.json`, files.modelJson, 'application/json');
      downloadFile(files.weightsFileName, files.weights, 'application/octet-stream');
      setNotice(`Saved ${files.baseName}.model.json and ${files.weightsFileName}.`);
    } catch (e) {
      setNotice(null);
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  /** Runs one worker request with the panel's busy state, notice and error. */
  const withWorker = async (preparing: string, request: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setNotice(preparing);
    try {
      setNotice(await request());
    } catch (e) {
      setNotice(null);
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const downloadPytorch = () =>
    withWorker('Preparing the PyTorch project…', async () => {
      const { baseName, files } = await training.exportPytorch();
      const archive = pytorchProjectZip(baseName, files);
      downloadFile(archive.fileName, archive.data as BlobPart, 'application/zip');
      return `Saved ${archive.fileName}: unzip it and run python3 train.py --check-parity first (its README has the commands).`;
    });

  const importWeights = (file: File) =>
    withWorker(`Loading ${file.name}…`, async () => `${file.name}: ${await training.importWeights(await file.arrayBuffer())}`);

  const downloadEmbeddings = async () => {
    if (!runConfig) return;
    setBusy(true);
    setError(null);
    try {
      const embeddings = await training.exportEmbeddings();
      const files = embeddingsToProjectorTsv(embeddings.vectors, embeddings.dim, embeddings.labels, embeddings.classNames);
      const baseName = `${runFileBaseName(runConfig, embeddings.step)}-embeddings`;
      downloadFile(`${baseName}-vectors.tsv`, files.vectors, 'text/tab-separated-values');
      if (files.metadata !== null) downloadFile(`${baseName}-metadata.tsv`, files.metadata, 'text/tab-separated-values');
      const rows = embeddings.vectors.length / embeddings.dim;
      setNotice(`Saved ${rows} held-out embeddings (${embeddings.dim} dimensions, evaluation at step ${embeddings.step})${files.metadata !== null ? ' and their labels' : ''}.`);
    } catch (e) {
      setNotice(null);
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const downloadMetrics = (format: 'csv' | 'json') => {
    if (!runConfig) return;
    const baseName = `${runFileBaseName(runConfig, step)}-metrics`;
    if (format === 'csv') downloadFile(`${baseName}.csv`, metricsToCsv(history, markers), 'text/csv');
    else downloadFile(`${baseName}.json`, metricsToJson({ method: runConfig.method, config: runConfig, dataset }, history, markers), 'application/json');
  };

  return (
    <section className="panel" aria-labelledby="export-title">
      <h2 id="export-title">Export</h2>
      <button type="button" disabled={!hasModel || busy} onClick={() => void downloadEncoder()}>
        Download encoder (LayersModel)
      </button>
      <p className="panel-note">
        Two files: keep the .model.json and its .weights.bin together and load them with <code>tf.loadLayersModel</code>. The model takes RGB images in [0, 1]
        and standardises them itself.
      </p>
      <button type="button" disabled={!hasModel || busy} onClick={() => void downloadPytorch()}>
        PyTorch project (.zip)
      </button>
      <p className="panel-note">
        The run as a PyTorch project: <code>train.py</code> trains the same method on one GPU or many (<code>torchrun</code>), and <code>--check-parity</code> checks the
        port against this app's numbers first. BYOL, SimCLR, SimSiam, Barlow Twins, VICReg, MoCo v2, SupCon, NPID, MoBY, UniGrad and rotation prediction so far.
      </p>
      <label>
        Import weights (.safetensors)
        <input
          type="file"
          accept=".safetensors"
          disabled={!hasModel || busy}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (file) void importWeights(file);
          }}
        />
      </label>
      <p className="panel-note">
        Weights written by <code>train.py</code> (or this app's PyTorch export) replace the run's: the embedding view, kNN and nearest neighbours show that encoder, and
        training continues from it. Another method's weights replace the encoder only.
      </p>
      <div className="button-row">
        <button type="button" disabled={!hasMetrics} onClick={() => downloadMetrics('csv')}>
          Download metrics CSV
        </button>
        <button type="button" disabled={!hasMetrics} onClick={() => downloadMetrics('json')}>
          Download metrics JSON
        </button>
      </div>
      <button type="button" disabled={!hasModel || busy} onClick={() => void downloadEmbeddings()}>
        Download embeddings (TSV)
      </button>
      <p className="panel-note">
        The held-out images' features from the last evaluation, and their labels: load both files in the TensorBoard Embedding Projector (projector.tensorflow.org, “Load”).
        Each chart's PNG button saves it as an image.
      </p>
      <p role="status" className="panel-note">
        {notice}
      </p>
      {error ? (
        <p role="alert" className="field-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
