import { useId } from 'react';
import type { PresetName } from '../../engine/config';
import { BACKBONE_LABELS, BACKBONE_PRESETS, backbonePresetOf, type BackbonePreset } from '../../engine/presets';
import { runsOnCpu } from '../../worker/backend-labels';
import { useAppStore } from '../store';
import { MethodOptions } from './MethodOptions';
import { NumberField } from './NumberField';

const IMAGE_SIZES = [16, 32, 64, 96];
/** A setup that trains visibly within seconds even without a GPU. */
const QUICK_SETUP = { backbone: BACKBONE_PRESETS['convnet-tiny'], imageSize: 16, batchSize: 16 };

/** Choices that define a run: they take effect when Train starts a new one. */
export function SetupPanel() {
  const methods = useAppStore((s) => s.methods);
  const config = useAppStore((s) => s.config);
  const chooseMethod = useAppStore((s) => s.chooseMethod);
  const editConfig = useAppStore((s) => s.editConfig);
  const backend = useAppStore((s) => s.backend);
  const ids = { dataset: useId(), method: useId(), preset: useId(), model: useId(), size: useId() };
  if (!config) return <section className="panel" aria-label="Setup" aria-busy="true">Loading methods…</section>;
  const method = methods.find((m) => m.id === config.method);
  const backbone = backbonePresetOf(config.backbone);

  return (
    <section className="panel" aria-labelledby={`${ids.dataset}-title`}>
      <h2 id={`${ids.dataset}-title`}>Setup</h2>
      {backend && runsOnCpu(backend) && (backbone !== 'convnet-tiny' || config.imageSize > 16 || config.batchSize > QUICK_SETUP.batchSize) ? (
        <div className="panel-note" role="note" aria-label="Slow device">
          {backend.name === 'cpu' ? 'Training runs on the CPU here' : `This GPU is emulated on the CPU (${backend.adapter})`}, so this setup takes seconds to minutes per step.{' '}
          <button type="button" onClick={() => editConfig(QUICK_SETUP)}>
            Use a quick setup
          </button>{' '}
          (Tiny ConvNet, 16 px, batch 16) to see it learn at once.
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={ids.method}>Method</label>
        <select id={ids.method} value={config.method} onChange={(e) => chooseMethod(e.target.value, config.preset)}>
          {methods.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.preset}>Preset</label>
        <select id={ids.preset} value={config.preset} onChange={(e) => chooseMethod(config.method, e.target.value as PresetName)}>
          <option value="classroom">Classroom (learns within minutes)</option>
          <option value="reference">Reference (paper / solo-learn defaults)</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.model}>Encoder</label>
        <select
          id={ids.model}
          value={backbone ?? 'custom'}
          onChange={(e) => editConfig({ backbone: BACKBONE_PRESETS[e.target.value as BackbonePreset] })}
        >
          {backbone === null ? <option value="custom">Custom</option> : null}
          {(Object.keys(BACKBONE_PRESETS) as BackbonePreset[]).map((name) => (
            <option key={name} value={name}>
              {BACKBONE_LABELS[name]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.size}>Image size</label>
        <select id={ids.size} value={config.imageSize} onChange={(e) => editConfig({ imageSize: Number(e.target.value) })}>
          {IMAGE_SIZES.map((s) => (
            <option key={s} value={s}>
              {s} px
            </option>
          ))}
        </select>
      </div>
      <NumberField label="Total steps" value={config.totalSteps} integer min={1} onCommit={(totalSteps) => editConfig({ totalSteps })} />
      <NumberField label="Seed" value={config.seed} integer min={0} onCommit={(seed) => editConfig({ seed })} />
      <MethodOptions />
      {method ? (
        <p className="method-explanation" aria-label={`About ${method.label}`}>
          {method.explanation}
        </p>
      ) : null}
    </section>
  );
}
