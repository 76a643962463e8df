import { useMemo } from 'react';
import { experimentsFor } from '../../../engine/experiments';
import { comparing } from '../../compare-client';
import { useAppStore } from '../../store';

/** The ready-made experiments the methods in the catalog allow; Run starts one at once, Load puts it in the run list to edit first. */
export function ExperimentGallery() {
  const methods = useAppStore((s) => s.methods);
  const runState = useAppStore((s) => s.compare.runState);
  const loadExperiment = useAppStore((s) => s.compareActions.loadExperiment);
  const experiments = useMemo(() => experimentsFor(methods), [methods]);
  const busy = runState === 'running' || runState === 'loading';

  return (
    <section className="experiment-gallery" aria-labelledby="experiments-title">
      <h2 id="experiments-title">Ready-made experiments</h2>
      <p className="panel-note">
        The papers' experiments in miniature, on the built-in shapes with the classroom presets: a few minutes each on a laptop GPU. At this size most differences are within the
        spread between seeds; each card says what its runs measured (docs/experiments.md). {busy ? 'Pause the comparison to start another.' : ''}
      </p>
      <ul className="experiment-cards">
        {experiments.map((experiment) => (
          <li key={experiment.id}>
            <article aria-labelledby={`experiment-${experiment.id}`}>
              <h3 id={`experiment-${experiment.id}`}>{experiment.title}</h3>
              <p>{experiment.question}</p>
              <p className="muted">Measured here: {experiment.measured}</p>
              <p className="muted">
                {experiment.runs.length} runs · {experiment.runs.reduce((n, r) => n + r.config.totalSteps, 0).toLocaleString('en')} steps in all
              </p>
              <div className="button-row">
                <button
                  type="button"
                  className="primary"
                  disabled={busy}
                  aria-label={`Run experiment: ${experiment.title}`}
                  onClick={() => {
                    loadExperiment(experiment);
                    comparing.start();
                  }}
                >
                  Run
                </button>
                <button type="button" aria-label={`Load into the run list: ${experiment.title}`} onClick={() => loadExperiment(experiment)}>
                  Load
                </button>
              </div>
            </article>
          </li>
        ))}
      </ul>
    </section>
  );
}
