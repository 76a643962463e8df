import { useEffect, useRef, useState } from 'react';
import type { AugmentationConfig, ViewAugmentation } from '../../engine/augment';
import type { LiveSettings } from '../../engine/config';
import type { PreviewImage } from '../../worker/protocol';
import { useAppStore } from '../store';
import { datasets, training } from '../worker-client';
import { useCommittedNumber } from './NumberField';

/** Images in the preview strip. */
const PREVIEW_COUNT = 8;
/** Settings change faster than previews draw: wait this long after the last change. */
const PREVIEW_DEBOUNCE_MS = 120;
/** SimCLR's CIFAR strengths, used when jitter is switched on in a view that had none. */
const DEFAULT_JITTER = { probability: 0, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 };
const DEFAULT_CROP = { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] };
const DEFAULT_BLUR_SIGMA: [number, number] = [0.1, 2];

interface Setting {
  label: string;
  hint?: string;
  min: number;
  max: number;
  step: number;
  read(view: ViewAugmentation): number;
  write(view: ViewAugmentation, value: number): ViewAugmentation;
  disabled?(view: ViewAugmentation): boolean;
}

const jitter = (view: ViewAugmentation) => view.colorJitter ?? DEFAULT_JITTER;

const SETTINGS: Setting[] = [
  {
    label: 'Crop scale, min',
    hint: 'Random resized crop: smallest share of the image area kept',
    min: 0.01,
    max: 1,
    step: 0.01,
    read: (v) => v.crop?.scale[0] ?? 1,
    write: (v, x) => ({ ...v, crop: { ...(v.crop ?? DEFAULT_CROP), scale: [x, (v.crop ?? DEFAULT_CROP).scale[1]] } }),
    disabled: (v) => v.crop === null,
  },
  {
    label: 'Crop scale, max',
    min: 0.01,
    max: 1,
    step: 0.01,
    read: (v) => v.crop?.scale[1] ?? 1,
    write: (v, x) => ({ ...v, crop: { ...(v.crop ?? DEFAULT_CROP), scale: [(v.crop ?? DEFAULT_CROP).scale[0], x] } }),
    disabled: (v) => v.crop === null,
  },
  { label: 'Flip probability', min: 0, max: 1, step: 0.05, read: (v) => v.flipProbability, write: (v, x) => ({ ...v, flipProbability: x }) },
  {
    label: 'Colour jitter probability',
    min: 0,
    max: 1,
    step: 0.05,
    read: (v) => v.colorJitter?.probability ?? 0,
    write: (v, x) => ({ ...v, colorJitter: { ...jitter(v), probability: x } }),
  },
  { label: 'Brightness', hint: 'Factor drawn from [1 − b, 1 + b]', min: 0, max: 2, step: 0.05, read: (v) => jitter(v).brightness, write: (v, x) => ({ ...v, colorJitter: { ...jitter(v), brightness: x } }) },
  { label: 'Contrast', min: 0, max: 2, step: 0.05, read: (v) => jitter(v).contrast, write: (v, x) => ({ ...v, colorJitter: { ...jitter(v), contrast: x } }) },
  { label: 'Saturation', min: 0, max: 2, step: 0.05, read: (v) => jitter(v).saturation, write: (v, x) => ({ ...v, colorJitter: { ...jitter(v), saturation: x } }) },
  { label: 'Hue', hint: 'Shift drawn from [−h, h] of a turn', min: 0, max: 0.5, step: 0.01, read: (v) => jitter(v).hue, write: (v, x) => ({ ...v, colorJitter: { ...jitter(v), hue: x } }) },
  { label: 'Grayscale probability', min: 0, max: 1, step: 0.05, read: (v) => v.grayscaleProbability, write: (v, x) => ({ ...v, grayscaleProbability: x }) },
  {
    label: 'Blur probability',
    hint: 'Gaussian blur, σ from 0.1 to 2 px. solo-learn’s symmetric CIFAR recipes blur half the views at 32 px; the classroom presets leave it off: they were tuned without it, at 16 px, where it erases most of the image.',
    min: 0,
    max: 1,
    step: 0.05,
    read: (v) => v.blur?.probability ?? 0,
    write: (v, x) => ({ ...v, blur: x > 0 ? { probability: x, sigma: v.blur?.sigma ?? DEFAULT_BLUR_SIGMA } : null }),
  },
  { label: 'Solarise probability', hint: 'Inverts values at or above one half', min: 0, max: 1, step: 0.05, read: (v) => v.solarizeProbability, write: (v, x) => ({ ...v, solarizeProbability: x }) },
];

/** A compact number input that commits on Enter or blur and refuses values out of range. */
function SettingInput({ setting, view, index, onCommit }: { setting: Setting; view: ViewAugmentation; index: number; onCommit(value: number): void }) {
  const value = setting.read(view);
  const { error, inputProps } = useCommittedNumber(value, (parsed) => (parsed < setting.min || parsed > setting.max ? `must be between ${setting.min} and ${setting.max}` : null), onCommit, String(Number(value.toFixed(4))));
  const name = `${setting.label}, view ${index + 1}`;
  return (
    <td>
      <input
        type="number"
        aria-label={name}
        title={error ? `${name} ${error}` : undefined}
        min={setting.min}
        max={setting.max}
        step={setting.step}
        disabled={setting.disabled?.(view)}
        {...inputProps}
      />
      {error ? (
        <span role="alert" className="field-error">
          {name} {error}
        </span>
      ) : null}
    </td>
  );
}

export function PreviewCanvas({ rgba, size, label }: { rgba: Uint8ClampedArray; size: number; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (context) context.putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0);
  }, [rgba, size]);
  return <canvas ref={canvas} width={size} height={size} role="img" aria-label={label} className="preview-canvas" />;
}

function PreviewColumn({ image, index, size }: { image: PreviewImage; index: number; size: number }) {
  const name = `Image ${index + 1}${image.label ? ` (${image.label})` : ''}`;
  return (
    <div className="preview-column" role="group" aria-label={name}>
      <PreviewCanvas rgba={image.original} size={size} label={`${name}, original`} />
      <PreviewCanvas rgba={image.views[0]} size={size} label={`${name}, view 1`} />
      <PreviewCanvas rgba={image.views[1]} size={size} label={`${name}, view 2`} />
    </div>
  );
}

/** Per-view augmentation settings and a live preview of what they do to the dataset's images. */
export function AugmentationPanel() {
  const config = useAppStore((s) => s.config);
  const methods = useAppStore((s) => s.methods);
  const runState = useAppStore((s) => s.runState);
  const editConfig = useAppStore((s) => s.editConfig);
  const report = useAppStore((s) => s.datasetReport);
  const preview = useAppStore((s) => s.preview);
  const [previewSeed, setPreviewSeed] = useState(1);
  const requestId = useRef(0);
  const augmentations = config?.augmentations ?? null;
  const imageSize = config?.imageSize ?? null;

  useEffect(() => {
    if (!augmentations || imageSize === null || !report) return;
    const timer = setTimeout(() => {
      requestId.current += 1;
      datasets.preview({ id: requestId.current, augmentations, imageSize, count: PREVIEW_COUNT, seed: previewSeed });
    }, PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [augmentations, imageSize, report, previewSeed]);

  if (!config || !augmentations) return null;
  const live = runState === 'running' || runState === 'paused' || runState === 'finished';
  const method = methods.find((m) => m.id === config.method);

  const apply = (next: AugmentationConfig) => {
    editConfig({ augmentations: next });
    if (live) training.update({ augmentations: next } satisfies Partial<LiveSettings>);
  };
  const setView = (index: number, view: ViewAugmentation) => apply(index === 0 ? [view, augmentations[1]] : [augmentations[0], view]);

  return (
    <section className="panel augmentations" aria-labelledby="augmentations-title">
      <div className="panel-header">
        <h2 id="augmentations-title">Augmentations</h2>
        <div className="panel-actions">
          <button type="button" onClick={() => setPreviewSeed((s) => s + 1)} disabled={!report}>
            New samples
          </button>
          <button type="button" disabled={!method} onClick={() => method && apply(structuredClone(method.defaults[config.preset].augmentations))}>
            {method ? `Reset to ${method.label} recipe` : 'Reset'}
          </button>
        </div>
      </div>
      <p className="panel-note">
        Each image is augmented twice, with the settings of view 1 and of view 2; the method learns what the two views share.
        {live ? ' Changes apply to the run from the next step.' : ''}
      </p>
      <div
        className="preview-strip"
        role="group"
        aria-label="Augmentation preview"
        aria-busy={!preview}
        data-preview-id={preview?.id ?? 0}
      >
        <div className="preview-legend" aria-hidden="true">
          <span>original</span>
          <span>view 1</span>
          <span>view 2</span>
        </div>
        {preview ? preview.images.map((image, i) => <PreviewColumn key={i} image={image} index={i} size={preview.size} />) : <p className="panel-note">Loading the preview…</p>}
      </div>
      <table className="augmentation-table">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">View 1</th>
            <th scope="col">View 2</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">Random resized crop</th>
            {augmentations.map((view, index) => (
              <td key={index}>
                <input
                  type="checkbox"
                  aria-label={`Random resized crop, view ${index + 1}`}
                  checked={view.crop !== null}
                  onChange={(e) => setView(index, { ...view, crop: e.target.checked ? DEFAULT_CROP : null })}
                />
              </td>
            ))}
          </tr>
          {SETTINGS.map((setting) => (
            <tr key={setting.label}>
              <th scope="row" title={setting.hint}>
                {setting.label}
              </th>
              {augmentations.map((view, index) => (
                <SettingInput key={index} setting={setting} view={view} index={index} onCommit={(value) => setView(index, setting.write(view, value))} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {imageSize !== null && imageSize <= 32 && augmentations.every((v) => !v.blur) ? (
        <p className="panel-note">Blur is off at {imageSize} px, as in lightly’s CIFAR recipe: a blur kernel erases most of an image this small.</p>
      ) : null}
    </section>
  );
}
