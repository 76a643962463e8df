import { useMemo } from 'react';
import type { SelectionStrategy } from '../../../engine/active-learning';
import { LABELS_ONLY_SERIES, type BuiltinDatasetId } from '../../../worker/protocol';
import { STRATEGY_CHOICES, type ActiveLearningMode } from '../../active-learning-store';
import { startActiveLearning } from '../../active-learning-client';
import { RUN_COLOURS } from '../../compare-store';
import { useAppStore } from '../../store';
import { OverlayChart, type OverlaySeries } from '../compare/OverlayChart';
import { NumberField } from '../NumberField';
import { SelectField } from '../SelectField';
import { FolderLabelling } from './FolderLabelling';

const DATASETS: { value: BuiltinDatasetId; label: string }[] = [
  { value: 'shapes', label: 'Coloured shapes: 1,200 train, 300 held out' },
  { value: 'shapes-quick', label: 'Shapes, quick: 240 train, 60 held out' },
  { value: 'mnist', label: 'MNIST digits: 8,000 train, 2,000 held out' },
];

/** The two questions, each a choice of series on the same first labels (same seed). */
const READY_MADE: { title: string; question: string; settings: { strategies: SelectionStrategy[]; labelsOnly: boolean } }[] = [
  { title: 'Which images should I label?', question: 'Core-set, random, uncertainty and highest loss from the same first labels.', settings: { strategies: ['coreset', 'random', 'uncertainty', 'loss'], labelsOnly: false } },
  {
    title: 'Does self-supervision cure the cold start?',
    question: 'MoBYv2AL against the same classifier trained on the labels alone, both with random picks from the same first labels.',
    settings: { strategies: ['random'], labelsOnly: true },
  },
];

const MODES: { value: ActiveLearningMode; label: string }[] = [
  { value: 'simulation', label: 'Simulation: a labelled dataset, labels hidden' },
  { value: 'folder', label: 'Your own folder: you label what it suggests' },
];

const IMAGE_SIZES = [16, 32].map((size) => ({ value: size, label: `${size} px` }));

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * The Active learning tab. Simulation: MoBYv2AL trained in cycles on a labelled dataset whose labels
 * are hidden and revealed only for the images a strategy asks for. The curve is the task classifier's
 * held-out accuracy against the number of labels, one line per strategy; the table says how many
 * labels each class got (are classes ignored?). Your own folder: see FolderLabelling.
 */
export function ActiveLearningView() {
  const { mode, runState, message } = useAppStore((s) => s.activeLearning);
  const { setMode } = useAppStore((s) => s.activeLearningActions);
  return (
    <section className="active-learning" aria-label="Active learning">
      <h2>Which images should I label?</h2>
      <p>
        MoBYv2AL trains a classifier on the labelled images together with MoBY on all of them, then asks for the labels of the images
        a strategy picks, cycle after cycle.
      </p>
      <SelectField label="Mode" value={mode} choices={MODES} onChange={setMode} />
      {mode === 'folder' ? (
        <>
          <FolderLabelling />
          <p role="status" aria-label="Active learning status">
            {message ?? (runState === 'idle' ? 'Open a folder to label.' : runState)}
          </p>
        </>
      ) : (
        <SimulationPanel />
      )}
    </section>
  );
}

/** Simulation: the labels of a labelled dataset are hidden and revealed only when a strategy asks for them. */
function SimulationPanel() {
  const { settings, runState, message, series, classNames } = useAppStore((s) => s.activeLearning);
  const { edit } = useAppStore((s) => s.activeLearningActions);
  const busy = runState === 'loading' || runState === 'running';
  const names = Object.keys(series);
  const curves: OverlaySeries[] = useMemo(
    () => names.map((name, i) => ({ id: `series-${i}`, name, color: RUN_COLOURS[i % RUN_COLOURS.length], points: series[name].map((p) => ({ x: p.labelled, y: p.accuracy })) })),
    [series],
  );
  const toggle = (strategy: SelectionStrategy, on: boolean) => edit({ strategies: on ? [...settings.strategies, strategy] : settings.strategies.filter((s) => s !== strategy) });

  return (
    <>
      <div className="field-inline" role="group" aria-label="Ready-made experiments">
        {READY_MADE.map((experiment) => (
          <button key={experiment.title} type="button" disabled={busy} title={experiment.question} onClick={() => edit(experiment.settings)}>
            {experiment.title}
          </button>
        ))}
      </div>
      <fieldset>
        <legend>Experiment</legend>
        <SelectField label="Data" value={settings.dataset} choices={DATASETS} onChange={(dataset) => edit({ dataset })} />
        <fieldset>
          <legend>Strategies</legend>
          {STRATEGY_CHOICES.map((choice) => (
            <label key={choice.value} className="field-inline">
              <input type="checkbox" checked={settings.strategies.includes(choice.value)} onChange={(e) => toggle(choice.value, e.target.checked)} /> {choice.label}
            </label>
          ))}
          <label className="field-inline">
            <input type="checkbox" checked={settings.labelsOnly} onChange={(e) => edit({ labelsOnly: e.target.checked })} /> Labels only (no MoBY): does self-supervision cure the cold start?
          </label>
        </fieldset>
        <NumberField label="Initial labels" value={settings.initial} min={1} integer onCommit={(initial) => edit({ initial })} />
        <NumberField label="Labels per cycle" value={settings.budget} min={1} integer onCommit={(budget) => edit({ budget })} />
        <NumberField label="Cycles" value={settings.cycles} min={1} integer onCommit={(cycles) => edit({ cycles })} />
        <NumberField label="Steps per cycle" value={settings.stepsPerCycle} min={1} integer onCommit={(stepsPerCycle) => edit({ stepsPerCycle })} />
        <SelectField label="Image size" value={settings.imageSize} choices={IMAGE_SIZES} onChange={(imageSize) => edit({ imageSize })} />
        <NumberField label="Batch size" value={settings.batchSize} min={2} integer onCommit={(batchSize) => edit({ batchSize })} />
        <NumberField label="Seed" value={settings.seed} min={0} integer onCommit={(seed) => edit({ seed })} />
        <label className="field-inline">
          <input type="checkbox" checked={settings.reinitialise} onChange={(e) => edit({ reinitialise: e.target.checked })} /> New network every cycle (the paper; default: keep training)
        </label>
        <button type="button" onClick={startActiveLearning} disabled={busy || (settings.strategies.length === 0 && !settings.labelsOnly)}>
          Run experiment
        </button>
      </fieldset>
      <p role="status" aria-label="Active learning status">
        {message ?? (runState === 'idle' ? 'Choose the strategies and run the experiment.' : runState)}
      </p>
      <OverlayChart
        title="Accuracy against labels"
        description="The task classifier's accuracy on the held-out images after each cycle, against the labels it trained with. One line per strategy."
        xLabel="labels"
        series={curves}
        dots
        yDomain={[0, 1]}
        formatY={percent}
      />
      {names.length > 0 ? (
        <table aria-label="Labels per class">
          <caption>Labels per class after the latest cycle of each series</caption>
          <thead>
            <tr>
              <th scope="col">Series</th>
              {classNames.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {names.map((name) => (
              <tr key={name}>
                <th scope="row">{name === LABELS_ONLY_SERIES ? 'labels only (random picks)' : name}</th>
                {series[name].at(-1)!.perClassLabels.map((n, i) => (
                  <td key={i}>{n}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
