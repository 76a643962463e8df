import { useId, useState } from 'react';
import { BACKBONE_PRESETS, backbonePresetOf, type BackbonePreset } from '../../../engine/presets';
import { COMPARE_DATASETS, commonValue } from '../../compare-store';
import { useAppStore } from '../../store';
import { emptyFolderProblem } from '../../folder-picker';
import { rememberFolder } from '../../worker-client';
import { FolderPickButton } from '../FolderPickButton';
import { NumberField } from '../NumberField';
import { SelectField } from '../SelectField';
import { BACKBONE_CHOICES } from '../SetupPanel';
import { RunEditor } from './RunEditor';

const IMAGE_SIZES = [16, 32, 64];
const MIXED = 'mixed' as const;
const FOLDER = 'folder';

/** The run list, and the settings every run shares: data, kNN evaluations, encoder, image size and seed. */
export function CompareSetup() {
  const draft = useAppStore((s) => s.compare.draft);
  const dataset = useAppStore((s) => s.compare.dataset);
  const folderName = useAppStore((s) => s.pickedFolderName);
  const evaluation = useAppStore((s) => s.evaluationSettings);
  const evaluations = useAppStore((s) => s.compare.evaluations);
  const experiment = useAppStore((s) => s.compare.experiment);
  const running = useAppStore((s) => s.compare.runState === 'running');
  const canAdd = useAppStore((s) => s.methods.length > 0);
  const actions = useAppStore((s) => s.compareActions);
  const titleId = useId();
  const [pickError, setPickError] = useState<string | null>(null);

  const encoder = commonValue(draft, (c) => backbonePresetOf(c.backbone) ?? 'custom');
  const imageSize = commonValue(draft, (c) => c.imageSize);
  const seed = commonValue(draft, (c) => c.seed);

  return (
    <section className="panel" aria-labelledby={titleId}>
      <h2 id={titleId}>Runs</h2>
      <p className="panel-note">
        Every run trains on the same data and, with the same seed and batch size, the same batches in the same order; the runs take one step each in turn.
        {running ? ' Changes here apply when you start again.' : ''}
      </p>
      {experiment ? <p className="panel-note">From the experiment “{experiment.title}”. Editing the runs makes it your own comparison.</p> : null}
      <SelectField
        label="Data"
        value={dataset.kind === 'folder' ? FOLDER : dataset.id}
        choices={[...COMPARE_DATASETS, ...(folderName !== null ? [{ value: FOLDER, label: `Folder: ${folderName}` }] : [])]}
        onChange={(value) => actions.setDataset(value === FOLDER ? { kind: 'folder', name: folderName ?? '' } : COMPARE_DATASETS.find((d) => d.value === value)!.source)}
      />
      <div className="folder-open">
        <FolderPickButton
          inputLabel="Image folder for the comparison"
          disabled={running}
          onPicked={(picked) => {
            const problem = emptyFolderProblem(picked);
            setPickError(problem);
            if (problem) return;
            rememberFolder(picked);
            actions.setDataset({ kind: 'folder', name: picked.name });
          }}
        />
        <span className="panel-note">The folder is read once and shared by every run; images stay on this computer.</span>
      </div>
      {pickError ? (
        <p role="alert" className="field-error">
          {pickError}
        </p>
      ) : null}
      <NumberField label="kNN evaluations per run" value={evaluations} integer min={0} max={50} hint="Evenly spaced, the first after step 1 and the last at the final step; 0 for none. An experiment with a reference line also measures the untrained encoder, at step 0." onCommit={actions.setEvaluations} />
      <p className="panel-note" aria-label="Evaluation protocol">
        kNN as in the Train tab's evaluation settings: k = {evaluation.k}, σ = {evaluation.sigma}, a bank of up to {evaluation.maxBankImages.toLocaleString('en-US')} training images and up to{' '}
        {evaluation.maxHeldOutImages.toLocaleString('en-US')} held-out images, the same for every run.
      </p>
      {draft.length > 0 ? (
        <fieldset className="shared-settings">
          <legend>All runs</legend>
          <SelectField
            label="Encoder"
            value={encoder ?? MIXED}
            choices={[...(encoder === undefined ? [{ value: MIXED, label: 'Differs between runs' }] : []), ...(encoder === 'custom' ? [{ value: 'custom', label: 'Custom' }] : []), ...BACKBONE_CHOICES]}
            onChange={(name) => name in BACKBONE_PRESETS && actions.editAllRuns({ backbone: BACKBONE_PRESETS[name as BackbonePreset] })}
          />
          <SelectField
            label="Image size"
            value={imageSize ?? MIXED}
            choices={[...(imageSize === undefined ? [{ value: MIXED as number | typeof MIXED, label: 'Differs between runs' }] : []), ...IMAGE_SIZES.map((s) => ({ value: s, label: `${s} px` }))]}
            onChange={(size) => typeof size === 'number' && actions.editAllRuns({ imageSize: size })}
          />
          <NumberField
            label="Seed"
            value={seed ?? draft[0].config.seed}
            integer
            min={0}
            hint={seed === undefined ? 'The runs have different seeds; a value here applies to all.' : 'One seed for all: the same initial draws, batches and augmentations.'}
            onCommit={(value) => actions.editAllRuns({ seed: value })}
          />
        </fieldset>
      ) : (
        <p className="panel-note">No runs yet: add one, or load a ready-made experiment.</p>
      )}
      {draft.map((run, index) => (
        <RunEditor key={run.id} run={run} index={index} />
      ))}
      <button type="button" disabled={!canAdd} onClick={actions.addRun}>
        Add run
      </button>
    </section>
  );
}
