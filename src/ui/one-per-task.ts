import { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';

/**
 * Hands out new values one component per task. A report changes the data of ten charts at once;
 * rendering and committing them together kept the page's main thread busy for 200–400 ms, so each
 * chart takes its new data in a task of its own and the page can respond in between.
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
  useEffect(() => {
    let current = true;
    queue.push(() => {
      if (current) flushSync(() => setShown(value));
    });
    if (!draining) {
      draining = true;
      setTimeout(runNext, 0);
    }
    return () => {
      current = false;
    };
  }, [value]);
  return shown;
}
