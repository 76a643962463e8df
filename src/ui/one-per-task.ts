import { useEffect, useRef, useState } from 'react';
import { flushSync } from 'react-dom';

/**
 * Hands out new values one component per task. A report changes the data of ten charts at once;
 * rendering and committing them together kept the page's main thread busy for 200–400 ms, so each
 * chart takes its new data in a task of its own and the page can respond in between.
 *
 * A component holds at most one place in the queue and keeps it when a newer value arrives, so every
 * component gets its turn even when reports come faster than a busy page renders all the charts (a
 * component that queued again at the back on every report never reached the front).
 */
const queue: (() => void)[] = [];
let draining = false;

function runNext(): void {
  queue.shift()?.();
  if (queue.length > 0) setTimeout(runNext, 0);
  else draining = false;
}

/** `value`, taken up in a task of its own after the render that changed it. */
export function useOnePerTask<T>(value: T): T {
  const [shown, setShown] = useState(value);
  // The newest value not yet shown; null when the component has no place in the queue.
  const waiting = useRef<{ value: T } | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  useEffect(() => {
    const queued = waiting.current !== null;
    waiting.current = { value };
    if (queued) return;
    queue.push(() => {
      const next = waiting.current;
      waiting.current = null;
      if (next && mounted.current) flushSync(() => setShown(next.value));
    });
    if (!draining) {
      draining = true;
      setTimeout(runNext, 0);
    }
  }, [value]);
  return shown;
}
