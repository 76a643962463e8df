import { useEffect, useRef, useState } from 'react';
import type { PickedFile } from '../../data/folder-loader';
import type { DatasetReport, SkippedFile } from '../../data/report';
import type { BuiltinDatasetId, DatasetSource } from '../../worker/protocol';
import { emptyFolderProblem, filesFromDrop } from '../folder-picker';
import { useAppStore } from '../store';
import { datasets } from '../worker-client';
import { FolderPickButton } from './FolderPickButton';

const BUILTINS: { id: BuiltinDatasetId; label: string; hint: string }[] = [
  { id: 'shapes', label: 'Coloured shapes', hint: '6 shapes; colour and texture are nuisances' },
  { id: 'silhouettes', label: 'Shape silhouettes', hint: 'the 6 shapes, dark or light, over a colour mosaic' },
  { id: 'mnist', label: 'MNIST digits', hint: '10,000 handwritten digits' },
];

const count = (n: number) => n.toLocaleString('en-US');
const megabytes = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 2 ** 10).toFixed(1)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`);
const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
/** Skipped files listed per reason in the summary; the counts always cover them all. */
const LISTED_PER_REASON = 50;

function sameSource(a: DatasetSource, b: DatasetSource): boolean {
  return a.kind === b.kind && (a.kind === 'builtin' ? a.id === (b as typeof a).id : a.name === (b as typeof a).name);
}

function groupByReason(skipped: SkippedFile[]): [string, SkippedFile[]][] {
  const groups = new Map<string, SkippedFile[]>();
  for (const file of skipped) groups.set(file.reason, [...(groups.get(file.reason) ?? []), file]);
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
}

function SkippedFiles({ skipped }: { skipped: SkippedFile[] }) {
  if (skipped.length === 0) return <p className="panel-note">No file was skipped.</p>;
  return (
    <div className="skipped" role="list" aria-label="Skipped files">
      {groupByReason(skipped).map(([reason, files]) => (
        <details key={reason} role="listitem">
          <summary>
            <strong>{count(files.length)}</strong> {reason}
          </summary>
          <ul>
            {files.slice(0, LISTED_PER_REASON).map((f) => (
              <li key={f.path}>
                {f.path}
                {f.detail ? <span className="muted"> — {f.detail}</span> : null}
              </li>
            ))}
            {files.length > LISTED_PER_REASON ? <li className="muted">… and {count(files.length - LISTED_PER_REASON)} more</li> : null}
          </ul>
        </details>
      ))}
    </div>
  );
}

function DatasetSummaryView({ report, deviceBytes, rejected }: { report: DatasetReport; deviceBytes: number | null; rejected: boolean }) {
  const images = report.trainCount + report.testCount;
  const classes = report.classNames.length;
  return (
    <section className={`dataset-summary${rejected ? ' rejected' : ''}`} aria-label={rejected ? 'Rejected folder summary' : 'Dataset summary'}>
      <p className="summary-headline">
        <strong>{report.name}</strong>: {count(images)} images · {classes > 0 ? `${classes} classes` : 'no labels'} · {report.imageSize} px
      </p>
      <dl className="summary-facts">
        <dt>Split</dt>
        <dd>
          {count(report.trainCount)} train{report.testCount > 0 ? ` · ${count(report.testCount)} held out for kNN` : ''}
          {report.layout === 'split' ? ' (from the train/ and test/ folders)' : report.layout === 'classes' && report.testCount > 0 ? ' (10% of each class, seeded)' : ''}
        </dd>
        {classes > 0 ? (
          <>
            <dt>Classes</dt>
            <dd className="class-list">{report.classNames.map((name, i) => `${name} (${count(report.classCounts[i])})`).join(', ')}</dd>
          </>
        ) : null}
        <dt>Loaded in</dt>
        <dd>
          {seconds(report.milliseconds)} · {megabytes(report.bytes)} of pixels
          {deviceBytes !== null ? ` · ${megabytes(deviceBytes)} on the device` : ''}
        </dd>
        {report.origin === 'folder' ? (
          <>
            <dt>Skipped</dt>
            <dd>{report.skipped.length === 0 ? 'none' : `${count(report.skipped.length)} file${report.skipped.length === 1 ? '' : 's'}`}</dd>
          </>
        ) : null}
      </dl>
      {report.origin === 'folder' && report.skipped.length > 0 ? <SkippedFiles skipped={report.skipped} /> : null}
      {report.notes.map((note) => (
        <p key={note} className={report.origin === 'folder' ? 'summary-note' : 'panel-note'}>
          {note}
        </p>
      ))}
    </section>
  );
}

/** Choose a built-in set or open a folder of images (picker, or drop it anywhere on the page). */
export function DatasetPanel() {
  const config = useAppStore((s) => s.config);
  const source = useAppStore((s) => s.datasetSource);
  const report = useAppStore((s) => s.datasetReport);
  const load = useAppStore((s) => s.datasetLoad);
  const error = useAppStore((s) => s.datasetError);
  const rejected = useAppStore((s) => s.rejectedReport);
  const runState = useAppStore((s) => s.runState);
  const runDataset = useAppStore((s) => s.dataset);
  const [dragging, setDragging] = useState(false);
  const [pickError, setPickError] = useState<string | null>(null);
  const imageSize = config?.imageSize ?? null;

  // The chosen dataset is (re)loaded at the training resolution: on start and when the size changes.
  const loadedSize = report?.imageSize ?? null;
  useEffect(() => {
    if (imageSize !== null && imageSize !== loadedSize && !useAppStore.getState().datasetLoad) datasets.load(useAppStore.getState().datasetSource, imageSize);
  }, [imageSize, loadedSize]);

  const open = (picked: { name: string; files: PickedFile[] }) => {
    if (imageSize === null) return;
    const problem = emptyFolderProblem(picked);
    setPickError(problem);
    if (problem) return;
    datasets.openFolder(picked.name, picked.files, imageSize);
  };

  // Dropping a folder anywhere on the page opens it.
  const openRef = useRef(open);
  openRef.current = open;
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth += 1;
      setDragging(true);
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const over = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      if (!e.dataTransfer || !hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      filesFromDrop(e.dataTransfer)
        .then((picked) => openRef.current(picked))
        .catch((err: unknown) => setPickError(`The dropped folder could not be read: ${err instanceof Error ? err.message : String(err)}`));
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, []);

  const busy = load !== null;
  const deviceBytes = runDataset && report && runDataset.name === report.name && runDataset.imageSize === report.imageSize ? (runDataset.deviceBytes ?? null) : null;
  const percent = load && load.total > 0 ? Math.round((100 * load.done) / load.total) : null;

  return (
    <section className="panel" aria-labelledby="dataset-title">
      <h2 id="dataset-title">Dataset</h2>
      <div className="dataset-choices" role="radiogroup" aria-label="Built-in datasets">
        {BUILTINS.map((b) => {
          const builtin: DatasetSource = { kind: 'builtin', id: b.id };
          const checked = sameSource(source, builtin);
          return (
            <button
              key={b.id}
              type="button"
              role="radio"
              aria-checked={checked}
              className={`dataset-choice${checked ? ' selected' : ''}`}
              disabled={busy || imageSize === null}
              onClick={() => imageSize !== null && !checked && datasets.load(builtin, imageSize)}
            >
              <span className="choice-label">{b.label}</span>
              <span className="choice-hint">{b.hint}</span>
            </button>
          );
        })}
      </div>
      <div className="folder-open">
        <FolderPickButton inputLabel="Image folder" disabled={busy || imageSize === null} onPicked={open} />
        <span className="panel-note">or drop a folder on the page. Images stay on this computer.</span>
      </div>
      {source.kind === 'folder' && report ? <p className="panel-note">Folder: {source.name}</p> : null}
      {load ? (
        <div className="load-progress">
          <label htmlFor="dataset-progress">{load.label}</label>
          <progress id="dataset-progress" max={load.total || undefined} value={load.total ? load.done : undefined} aria-valuenow={percent ?? undefined} aria-valuetext={load.total ? `${count(load.done)} of ${count(load.total)} images` : 'starting'} />
          <div className="load-row">
            <span aria-label="Images decoded">{load.total ? `${count(load.done)} / ${count(load.total)}` : 'starting…'}</span>
            <button type="button" onClick={datasets.cancel}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      {pickError || error ? (
        <p role="alert" className="field-error">
          {pickError ?? error}
        </p>
      ) : null}
      {rejected ? <DatasetSummaryView report={rejected} deviceBytes={null} rejected /> : null}
      {report ? <DatasetSummaryView report={report} deviceBytes={deviceBytes} rejected={false} /> : null}
      {runState === 'running' && report && runDataset && runDataset.name !== report.name ? <p className="panel-note">The current run trains on {runDataset.name}; Train again to use {report.name}.</p> : null}
      {dragging ? (
        <div className="drop-overlay" aria-hidden="true">
          Drop the folder to load it
        </div>
      ) : null}
    </section>
  );
}
