import { useId } from 'react';
import type { PresetName } from '../../engine/config';
import { BACKBONE_LABELS, BACKBONE_PRESETS, backbonePresetOf, type BackbonePreset } from '../../engine/presets';
import { backendLabel, isSlowBackend } from '../../worker/backend-labels';
import { useAppStore } from '../store';
import { MethodOptions } from './MethodOptions';
import { NumberField } from './NumberField';
import { MemoryNeed } from './MemoryNeed';
import { SelectField } from './SelectField';

const IMAGE_SIZES = [16, 32, 64, 96];
export const PRESET_CHOICES: { value: PresetName; label: string }[] = [
  { value: 'classroom', label: 'Classroom (learns within minutes)' },
  { value: 'reference', label: 'Reference (paper / solo-learn defaults)' },
];
export const BACKBONE_CHOICES = (Object.keys(BACKBONE_PRESETS) as BackbonePreset[]).map((name) => ({ value: name, label: BACKBONE_LABELS[name] }));
/** A setup that trains visibly within seconds even without a GPU. */
const QUICK_SETUP = { backbone: BACKBONE_PRESETS['convnet-tiny'], imageSize: 16, batchSize: 16 };

/** Choices that define a run: they take effect when Train starts a new one. */
export function SetupPanel() {
  const methods = useAppStore((s) => s.methods);
  const config = useAppStore((s) => s.config);
  const chooseMethod = useAppStore((s) => s.chooseMethod);
  const editConfig = useAppStore((s) => s.editConfig);
  const backend = useAppStore((s) => s.backend);
  const backends = useAppStore((s) => s.backends);
  const backendSetting = useAppStore((s) => s.backendSetting);
  const setBackendSetting = useAppStore((s) => s.setBackendSetting);
  const titleId = useId();
  if (!config) return <section className="panel" aria-label="Setup" aria-busy="true">Loading methods…</section>;
  const method = methods.find((m) => m.id === config.method);
  const backbone = backbonePresetOf(config.backbone);

  return (
    <section className="panel" aria-labelledby={titleId}>
      <h2 id={titleId}>Setup</h2>
      {backend && isSlowBackend(backend) && (backbone !== 'convnet-tiny' || config.imageSize > 16 || config.batchSize > QUICK_SETUP.batchSize) ? (
        <div className="panel-note" role="note" aria-label="Slow device">
          {backend.name === 'cpu' ? 'Training runs on the CPU here' : `This GPU is emulated on the CPU (${backend.adapter})`}, so this setup takes seconds to minutes per step.{' '}
          <button type="button" onClick={() => editConfig(QUICK_SETUP)}>
            Use a quick setup
          </button>{' '}
          (Tiny ConvNet, 16 px, batch 16) to see it learn at once.
        </div>
      ) : null}
      <SelectField label="Method" value={config.method} choices={methods.map((m) => ({ value: m.id, label: m.label }))} onChange={(id) => chooseMethod(id, config.preset)} />
      <SelectField label="Preset" value={config.preset} choices={PRESET_CHOICES} onChange={(preset) => chooseMethod(config.method, preset)} />
      <SelectField
        label="Encoder"
        value={backbone ?? 'custom'}
        choices={[...(backbone === null ? [{ value: 'custom' as const, label: 'Custom' }] : []), ...BACKBONE_CHOICES]}
        onChange={(name) => name !== 'custom' && editConfig({ backbone: BACKBONE_PRESETS[name] })}
      />
      <SelectField
        label="Backend"
        value={backendSetting}
        choices={[
          { value: 'fastest' as const, label: 'Fastest (timed on this setup)' },
          ...backends.filter((b) => b.note === null).map((b) => ({ value: b.name, label: b.adapter ? `${backendLabel(b.name)} (${b.adapter})` : backendLabel(b.name) })),
        ]}
        onChange={setBackendSetting}
      />
      <SelectField label="Image size" value={config.imageSize} choices={IMAGE_SIZES.map((s) => ({ value: s, label: `${s} px` }))} onChange={(imageSize) => editConfig({ imageSize })} />
      <NumberField label="Total steps" value={config.totalSteps} integer min={1} onCommit={(totalSteps) => editConfig({ totalSteps })} />
      <NumberField label="Seed" value={config.seed} integer min={0} onCommit={(seed) => editConfig({ seed })} />
      <MethodOptions />
      <MemoryNeed />
      {method ? (
        <p className="method-explanation" aria-label={`About ${method.label}`}>
          {method.explanation}
        </p>
      ) : null}
    </section>
  );
}
