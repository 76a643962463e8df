import { useState } from 'react';
import { compareWorker } from '../compare-client';
import { useAppStore } from '../store';
import { training, trainingWorker } from '../worker-client';

const MB = 2 ** 20;

/** Shown only with `?diagnostics` in the address: causes the faults the app must survive (docs/reliability.md). */
export function DiagnosticsPanel() {
  const onWebGpu = useAppStore((s) => s.backend?.name === 'webgpu');
  const [capText, setCapText] = useState('');
  const [capNote, setCapNote] = useState<string | null>(null);
  if (typeof location === 'undefined' || !new URLSearchParams(location.search).has('diagnostics')) return null;
  const applyCap = () => {
    const megabytes = Number(capText);
    if (capText.trim() !== '' && !(Number.isFinite(megabytes) && megabytes > 0)) return setCapNote('The cap must be a positive number of megabytes, or empty for none.');
    const bytes = capText.trim() === '' ? null : Math.round(megabytes * MB);
    training.capMemory(bytes);
    setCapNote(bytes === null ? 'No cap: the worker may use what its backend holds.' : `The training worker may hold at most ${megabytes} MB of tensors.`);
  };
  return (
    <section className="panel" aria-labelledby="diagnostics-title">
      <h2 id="diagnostics-title">Diagnostics</h2>
      <p className="panel-note">Fault injection, to check that nothing is lost when things break.</p>
      <div className="button-row">
        <button type="button" onClick={() => trainingWorker.simulateCrash()}>
          Stop the training worker
        </button>
        <button type="button" onClick={() => compareWorker.simulateCrash()}>
          Stop the comparison worker
        </button>
        <button type="button" disabled={!onWebGpu} title={onWebGpu ? undefined : 'The training worker is not on WebGPU'} onClick={() => training.simulateDeviceLoss()}>
          Simulate GPU device loss
        </button>
      </div>
      <div className="button-row">
        <label>
          Worker memory cap (MB){' '}
          <input type="number" min={1} value={capText} placeholder="none" onChange={(event) => setCapText(event.target.value)} onKeyDown={(event) => event.key === 'Enter' && applyCap()} />
        </label>
        <button type="button" onClick={applyCap}>
          Apply memory cap
        </button>
      </div>
      {capNote ? (
        <p className="panel-note" role="status" aria-label="Memory cap">
          {capNote}
        </p>
      ) : null}
    </section>
  );
}
