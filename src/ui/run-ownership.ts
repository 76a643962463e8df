/**
 * One tab owns a saved run while it records it (trains or has it open), through a Web Lock named after
 * the run: another tab of the app sees the run as busy, cannot open or delete it, and can take it over
 * once the owner is closed (the browser releases a closed tab's locks). So no run is written by two tabs.
 * Where the browser has no Web Locks every tab owns what it opens, as before.
 */
const PREFIX = 'siamese-playground.run:';

let owned: { id: string; release(): void } | null = null;

const locks = (): LockManager | null => (typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null);

/** Makes this tab the owner of run `id` (giving up the run it owned before); false when another tab owns it. */
export async function ownRun(id: string): Promise<boolean> {
  if (owned?.id === id) return true;
  releaseRun();
  const manager = locks();
  if (!manager) return true;
  return new Promise<boolean>((resolve) => {
    void manager.request(PREFIX + id, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(false);
        return undefined;
      }
      return new Promise<void>((release) => {
        owned = { id, release };
        resolve(true);
      });
    });
  });
}

/** Gives up the run this tab owns, if any. */
export function releaseRun(): void {
  owned?.release();
  owned = null;
}

/** Ids of the runs other tabs own now. */
export async function runsOwnedElsewhere(): Promise<string[]> {
  const manager = locks();
  if (!manager) return [];
  const { held = [] } = await manager.query();
  return held.map((lock) => lock.name ?? '').filter((name) => name.startsWith(PREFIX) && name !== PREFIX + owned?.id).map((name) => name.slice(PREFIX.length));
}
