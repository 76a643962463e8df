import { useEffect } from 'react';
import { backendLabel } from '../../worker/backend-labels';
import { useAppStore } from '../store';
import { training } from '../worker-client';
import { megabytes } from './StatusBar';

/** Settings change in bursts (typing a batch size): the worker measures once they settle. */
const ESTIMATE_DELAY_MS = 600;

/**
 * Before Train: the memory the setup needs (measured by the worker on its backend and dataset) against
 * what that backend can hold, and the batch size that would fit where it does not.
 */
export function MemoryNeed() {
  const config = useAppStore((s) => s.config);
  const idle = useAppStore((s) => s.runState !== 'running' && s.runState !== 'loading' && s.backend !== null && s.datasetLoad === null);
  const measured = useAppStore((s) => s.memoryEstimate);
  const configText = JSON.stringify(config);

  useEffect(() => {
    if (!idle || config === null) return;
    const timer = setTimeout(() => training.estimateMemory(config), ESTIMATE_DELAY_MS);
    return () => clearTimeout(timer);
    // The configuration's content, not its identity, decides whether to measure again.
  }, [configText, idle]);

  if (!config || !measured || JSON.stringify(measured.config) !== configText) return null;
  if (!measured.estimate) return <p className="panel-note" aria-label="Memory need">Memory need unknown: {measured.problem}</p>;
  const { peakBytes, imageBytes, fixedBytes, bytesPerImage, limitBytes, backend } = measured.estimate;
  const label = backendLabel(backend);
  const fits = limitBytes === null || peakBytes <= limitBytes;
  const largestBatch = limitBytes === null || bytesPerImage === 0 ? null : Math.floor((limitBytes - fixedBytes) / bytesPerImage);
  return (
    <>
      <p className="panel-note" aria-label="Memory need">
        Memory: about {megabytes(peakBytes)} for a step, training images {megabytes(imageBytes)} of it;{' '}
        {limitBytes === null ? `${label} does not tell the page how much the GPU holds.` : `${label} can hold ${megabytes(limitBytes)}.`}
      </p>
      {fits ? null : (
        <p role="alert" className="field-error" aria-label="Setup does not fit">
          This setup needs about {megabytes(peakBytes)}, more than {label} can hold:{' '}
          {largestBatch !== null && largestBatch >= 1 ? `lower the batch size to ${largestBatch} or less, or the image size.` : 'lower the image size or choose a smaller encoder.'}
        </p>
      )}
    </>
  );
}
