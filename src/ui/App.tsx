import { Charts } from './components/Charts';
import { EvaluationPanel } from './components/EvaluationPanel';
import { LiveControls } from './components/LiveControls';
import { RunControls } from './components/RunControls';
import { SetupPanel } from './components/SetupPanel';
import { StatusBar } from './components/StatusBar';

export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>Siamese Playground</h1>
          <p className="tagline">Train self-supervised image encoders in your browser, on your GPU, and watch them learn.</p>
        </div>
        <RunControls />
      </header>
      <StatusBar />
      <main className="layout">
        <aside className="sidebar">
          <SetupPanel />
          <LiveControls />
          <EvaluationPanel />
        </aside>
        <section className="content" aria-label="Live charts">
          <Charts />
        </section>
      </main>
    </div>
  );
}
