import { comparing } from '../../compare-client';
import { useAppStore } from '../../store';
import { RunToolbar } from '../RunControls';
import { DatasetAndMessages, megabytes, StateAndBackend } from '../StatusBar';
import { CompareCharts } from './CompareCharts';
import { CompareSetup } from './CompareSetup';
import { CompareTable } from './CompareTable';
import { ExperimentGallery } from './ExperimentGallery';
import { RunLegend } from './RunLegend';
import { SweepSummary } from './SweepSummary';

function CompareControls() {
  const runState = useAppStore((s) => s.compare.runState);
  const hasRuns = useAppStore((s) => s.compare.draft.length > 0);
  const started = useAppStore((s) => s.compare.active !== null);
  return (
    <RunToolbar
      label="Comparison controls"
      runState={runState}
      startLabel={started ? 'Start again' : 'Start comparison'}
      canStart={hasRuns}
      canReset={started}
      start={() => void comparing.start()}
      pause={comparing.pause}
      resume={comparing.resume}
      reset={comparing.reset}
    />
  );
}

function CompareStatus() {
  const { runState, message, backend, datasetSummary, datasetLoad, imagesPerSecond, tensors, bytes, active } = useAppStore((s) => s.compare);
  return (
    <div className="status-bar" role="status" aria-label="Comparison status" aria-live="polite">
      <StateAndBackend runState={runState} backend={backend} />
      {active ? (
        <span aria-label="Images per second, all runs">
          All runs: <strong>{Math.round(imagesPerSecond)}</strong> img/s
        </span>
      ) : null}
      {active && tensors > 0 ? <span className="muted" aria-label="Device memory">{megabytes(bytes)} in {tensors} tensors</span> : null}
      {datasetLoad ? (
        <span aria-label="Data loading">
          {datasetLoad.label}
          {datasetLoad.total > 0 ? `: ${datasetLoad.done.toLocaleString('en-US')} / ${datasetLoad.total.toLocaleString('en-US')}` : '…'}
        </span>
      ) : null}
      <DatasetAndMessages dataset={datasetSummary} backend={backend} message={message} />
    </div>
  );
}

function ExperimentBrief() {
  const experiment = useAppStore((s) => s.compare.active?.experiment ?? null);
  if (!experiment) return null;
  return (
    <section className="experiment-brief" aria-label="About this experiment">
      <h2>{experiment.title}</h2>
      <p>
        <strong>Question.</strong> {experiment.question}
      </p>
      <p>
        <strong>The paper's answer.</strong> {experiment.paper}
      </p>
      <p>
        <strong>What to look for.</strong> {experiment.lookFor}
      </p>
      <p>
        <strong>Measured here.</strong> {experiment.measured}
      </p>
    </section>
  );
}

/** Several runs side by side: setup and experiments on the left, overlaid charts, table and summary on the right. */
export function CompareView() {
  const started = useAppStore((s) => s.compare.active !== null);
  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>Compare runs</h1>
          <p className="tagline">Several runs on the same data, seed and batches, trained in turn so they progress together.</p>
        </div>
        <CompareControls />
      </header>
      <CompareStatus />
      <main className="layout">
        <aside className="sidebar">
          <CompareSetup />
        </aside>
        <section className="content compare-content" aria-label="Comparison results">
          <ExperimentGallery />
          {started ? (
            <>
              <ExperimentBrief />
              <RunLegend />
              <CompareCharts />
              <SweepSummary />
              <CompareTable />
            </>
          ) : (
            <p className="panel-note">Add runs on the left (or pick an experiment above) and press Start comparison: the charts overlay the runs and the table compares them.</p>
          )}
        </section>
      </main>
    </div>
  );
}
