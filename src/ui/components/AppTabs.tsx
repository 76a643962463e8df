import { useState, type KeyboardEvent, type ReactNode } from 'react';
import { startActiveLearningWorker } from '../active-learning-client';
import { startCompareWorker } from '../compare-client';
import { ActiveLearningView } from './active-learning/ActiveLearningView';
import { CompareView } from './compare/CompareView';

const VIEWS = [
  { id: 'train', label: 'Train' },
  { id: 'compare', label: 'Compare' },
  { id: 'active-learning', label: 'Active learning' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

/**
 * Train (one run, live controls), Compare (several runs side by side) and Active learning as tabs. The Train view
 * stays mounted while hidden, so its run and its address-bar sync go on; Compare mounts when first
 * and Active learning mount when first opened, which also starts their workers.
 */
export function AppTabs({ train }: { train: ReactNode }) {
  const [view, setView] = useState<ViewId>('train');
  const [compareOpened, setCompareOpened] = useState(false);
  const [activeLearningOpened, setActiveLearningOpened] = useState(false);

  const select = (id: ViewId) => {
    setView(id);
    if (id === 'compare' && !compareOpened) {
      setCompareOpened(true);
      startCompareWorker();
    }
    if (id === 'active-learning' && !activeLearningOpened) {
      setActiveLearningOpened(true);
      startActiveLearningWorker();
    }
  };

  // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
  const onKeyDown = (event: KeyboardEvent<HTMLButtonElement>) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    const index = (VIEWS.findIndex((v) => v.id === view) + step + VIEWS.length) % VIEWS.length;
    select(VIEWS[index].id);
    document.getElementById(`tab-${VIEWS[index].id}`)?.focus();
  };

  return (
    <>
      <div className="view-tabs" role="tablist" aria-label="Views">
        {VIEWS.map((v) => (
          <button
            key={v.id}
            type="button"
            role="tab"
            id={`tab-${v.id}`}
            aria-selected={view === v.id}
            aria-controls={`panel-${v.id}`}
            tabIndex={view === v.id ? 0 : -1}
            onClick={() => select(v.id)}
            onKeyDown={onKeyDown}
          >
            {v.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="panel-train" aria-labelledby="tab-train" hidden={view !== 'train'}>
        {train}
      </div>
      {compareOpened ? (
        <div role="tabpanel" id="panel-compare" aria-labelledby="tab-compare" hidden={view !== 'compare'}>
          <CompareView />
        </div>
      ) : null}
      {activeLearningOpened ? (
        <div role="tabpanel" id="panel-active-learning" aria-labelledby="tab-active-learning" hidden={view !== 'active-learning'}>
          <ActiveLearningView />
        </div>
      ) : null}
    </>
  );
}
