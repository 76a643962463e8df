import { AugmentationPanel } from './components/AugmentationPanel';
import { AppTabs } from './components/AppTabs';
import { Charts } from './components/Charts';
import { ExportPanel } from './components/ExportPanel';
import { DatasetPanel } from './components/DatasetPanel';
import { DiagnosticsPanel } from './components/DiagnosticsPanel';
import { EvaluationPanel } from './components/EvaluationPanel';
import { LiveControls } from './components/LiveControls';
import { RunControls } from './components/RunControls';
import { RunsPanel } from './components/RunsPanel';
import { SetupPanel } from './components/SetupPanel';
import { ShareLink } from './components/ShareLink';
import { StatusBar } from './components/StatusBar';
import { InterruptionNotice } from './components/InterruptionNotice';

/** The single-run view: setup, live controls and charts. */
function TrainView() {
  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>Siamese Playground</h1>
          <p className="tagline">Train self-supervised image encoders in your browser, on your GPU, and watch them learn.</p>
        </div>
        <RunControls />
        <ShareLink />
      </header>
      <StatusBar />
      <InterruptionNotice />
      <main className="layout">
        <aside className="sidebar">
          <DatasetPanel />
          <SetupPanel />
          <LiveControls />
          <ExportPanel />
          <RunsPanel />
          <EvaluationPanel />
          <DiagnosticsPanel />
        </aside>
        <section className="content" aria-label="Live charts">
          <AugmentationPanel />
          <Charts />
        </section>
      </main>
    </div>
  );
}

export function App() {
  return <AppTabs train={<TrainView />} />;
}
