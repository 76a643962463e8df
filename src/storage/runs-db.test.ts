import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../engine/config';
import { tinyConfig, tinyData } from '../engine/testing/tiny';
import { Trainer } from '../engine/trainer';
import { RUN_FORMAT, RunsDatabase, StorageError, type StoredRun } from './runs-db';

function smallConfig(): TrainConfig {
  return tinyConfig('byol', { imageSize: 8, batchSize: 4 });
}
const smallData = () => tinyData(16, 8);

function runRecord(id: string, created: number): StoredRun {
  return {
    format: RUN_FORMAT,
    id,
    name: `BYOL ${id}`,
    created,
    updated: created,
    config: smallConfig(),
    dataset: { source: { kind: 'builtin', id: 'shapes' }, summary: { name: 'Coloured shapes', trainCount: 16, testCount: 12, classNames: ['circle'], imageSize: 8 } },
    status: 'running',
    step: 0,
    checkpointStep: null,
  };
}

async function trainSteps(trainer: Trainer, steps: number): Promise<number[]> {
  for (let i = 0; i < steps; i++) trainer.step();
  return (await trainer.flush()).map((r) => r.loss);
}

/** Counts the raw entries each store holds for a run, straight through IndexedDB. */
function countEntries(factory: IDBFactory, runId: string): Promise<{ runs: number; history: number; checkpoints: number }> {
  return new Promise((resolve, reject) => {
    const open = factory.open('siamese-playground');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(['runs', 'history', 'checkpoints']);
      const counts = { runs: 0, history: 0, checkpoints: 0 };
      tx.objectStore('runs').count(runId).onsuccess = (e) => (counts.runs = (e.target as IDBRequest<number>).result);
      tx.objectStore('history').index('runId').count(runId).onsuccess = (e) => (counts.history = (e.target as IDBRequest<number>).result);
      tx.objectStore('checkpoints').count(runId).onsuccess = (e) => (counts.checkpoints = (e.target as IDBRequest<number>).result);
      tx.oncomplete = () => {
        db.close();
        resolve(counts);
      };
    };
  });
}

const realPut = IDBObjectStore.prototype.put;
afterEach(() => {
  IDBObjectStore.prototype.put = realPut;
});

/** Makes put() on one store fail the way a full disk does, synchronously or when the request runs. */
function failPutsTo(storeName: string, when: 'at the call' | 'when the request runs') {
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (this.name !== storeName) return realPut.apply(this, args);
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    if (when === 'at the call') throw quota;
    // Browsers report most quota failures as an error event on the request, which aborts the
    // transaction with that error; fake-indexeddb does exactly that for an operation that throws.
    const tx = this.transaction as unknown as { _execRequestAsync(op: { operation: () => never; source: unknown }): IDBRequest };
    return tx._execRequestAsync({
      operation: () => {
        throw quota;
      },
      source: this,
    });
  } as IDBObjectStore['put'];
}

describe('RunsDatabase', () => {
  it('keeps runs, history and the checkpoint across connections, and the checkpoint resumes the run exactly', async () => {
    const factory = new IDBFactory();
    const data = smallData();
    const db = await RunsDatabase.open({ factory });
    await db.putRun(runRecord('b', 2000));
    await db.putRun(runRecord('a', 1000));

    const trainer = new Trainer(smallConfig(), data);
    const first = await trainSteps(trainer, 3);
    await db.appendHistory('a', { points: first.map((loss, step) => ({ step, loss })), markers: [] });
    await db.appendHistory('a', { points: [], markers: [{ step: 3, label: 'tau=0.9' }] });
    await db.saveCheckpoint('a', await trainer.saveCheckpoint(), 5000);
    const continued = await trainSteps(trainer, 3);
    trainer.dispose();
    db.close();

    const reopened = await RunsDatabase.open({ factory });
    const { runs, unreadable } = await reopened.listRuns();
    expect(unreadable).toEqual([]);
    expect(runs.map((r) => r.id)).toEqual(['a', 'b']);
    expect(runs[0]).toMatchObject({ checkpointStep: 3, step: 3, updated: 5000, config: smallConfig() });
    expect(await reopened.loadHistory('a')).toEqual({ points: first.map((loss, step) => ({ step, loss })), markers: [{ step: 3, label: 'tau=0.9' }] });
    expect(await reopened.loadHistory('b')).toEqual({ points: [], markers: [] });

    const stored = await reopened.loadCheckpoint('a');
    expect(stored).toMatchObject({ runId: 'a', step: 3, savedAt: 5000 });
    expect(stored!.bytes).toBeGreaterThan(1000);
    const resumed = new Trainer(smallConfig(), data);
    resumed.restoreCheckpoint(stored!.checkpoint);
    expect(await trainSteps(resumed, 3)).toEqual(continued);
    resumed.dispose();
    reopened.close();
  });

  it('updates fields of a run and refuses unknown runs with a clear message', async () => {
    const db = await RunsDatabase.open({ factory: new IDBFactory() });
    await db.putRun(runRecord('a', 1000));
    const updated = await db.updateRun('a', { status: 'paused', step: 12, updated: 7000 });
    expect(updated).toMatchObject({ id: 'a', created: 1000, status: 'paused', step: 12, updated: 7000 });
    expect(await db.getRun('a')).toEqual(updated);
    await expect(db.updateRun('nope', { status: 'paused' })).rejects.toThrow('There is no saved run with id nope.');
    await expect(db.saveCheckpoint('nope', await checkpointAt(1))).rejects.toThrow(/no saved run with id nope to checkpoint/);
    expect(await db.getRun('nope')).toBeNull();
    db.close();
  });

  it('truncates history past a checkpoint step, splitting the chunk that straddles it', async () => {
    const db = await RunsDatabase.open({ factory: new IDBFactory() });
    await db.putRun(runRecord('a', 1000));
    // Steps count from 1: a checkpoint at step 6 was taken after the sixth step, whose point stays.
    const points = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ step: from + i, loss: from + i }));
    await db.appendHistory('a', { points: points(1, 5), markers: [{ step: 2, label: 'lr' }] });
    await db.appendHistory('a', { points: points(5, 9), markers: [{ step: 6, label: 'tau' }, { step: 7, label: 'batch' }] });
    await db.appendHistory('a', { points: points(9, 13), markers: [] });
    await db.truncateHistory('a', 6);
    expect(await db.loadHistory('a')).toEqual({ points: points(1, 7), markers: [{ step: 2, label: 'lr' }, { step: 6, label: 'tau' }] });
    // The later history appends after what was kept.
    await db.appendHistory('a', { points: points(7, 8), markers: [] });
    expect((await db.loadHistory('a')).points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    db.close();
  });

  it('deleting a run removes its record, every history chunk and its checkpoint, and nothing of other runs', async () => {
    const factory = new IDBFactory();
    const db = await RunsDatabase.open({ factory });
    for (const id of ['a', 'b']) {
      await db.putRun(runRecord(id, id === 'a' ? 1 : 2));
      await db.appendHistory(id, { points: [{ step: 0, loss: 1 }], markers: [] });
      await db.appendHistory(id, { points: [{ step: 1, loss: 1 }], markers: [] });
      await db.saveCheckpoint(id, await checkpointAt(2));
    }
    expect(await countEntries(factory, 'a')).toEqual({ runs: 1, history: 2, checkpoints: 1 });
    await db.deleteRun('a');
    expect(await countEntries(factory, 'a')).toEqual({ runs: 0, history: 0, checkpoints: 0 });
    expect(await countEntries(factory, 'b')).toEqual({ runs: 1, history: 2, checkpoints: 1 });
    expect((await db.listRuns()).runs.map((r) => r.id)).toEqual(['b']);
    db.close();
  });

  it.each(['at the call', 'when the request runs'] as const)('reports a full disk (%s) and keeps the previous checkpoint and run intact', async (when) => {
    const factory = new IDBFactory();
    const db = await RunsDatabase.open({ factory });
    await db.putRun(runRecord('a', 1000));
    await db.saveCheckpoint('a', await checkpointAt(2), 3000);
    const before = await db.getRun('a');

    failPutsTo('checkpoints', when);
    const error = await db.saveCheckpoint('a', await checkpointAt(4), 4000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).quota).toBe(true);
    expect((error as StorageError).message).toMatch(/^Browser storage is full, so saving the checkpoint at step 4 \(\d+ KB\) failed\. Nothing already saved was changed/);
    IDBObjectStore.prototype.put = realPut;

    // Same transaction: neither the checkpoint nor the run's checkpointStep moved.
    expect((await db.loadCheckpoint('a'))!.step).toBe(2);
    expect(await db.getRun('a')).toEqual(before);
    // And the database still works afterwards.
    await db.saveCheckpoint('a', await checkpointAt(4), 5000);
    expect((await db.loadCheckpoint('a'))!.step).toBe(4);
    db.close();
  });

  it('reports quota failures of metric writes the same way', async () => {
    const db = await RunsDatabase.open({ factory: new IDBFactory() });
    await db.putRun(runRecord('a', 1000));
    failPutsTo('runs', 'at the call');
    await expect(db.updateRun('a', { step: 9 })).rejects.toMatchObject({ quota: true, message: expect.stringMatching(/^Browser storage is full, so updating a saved run failed/) });
    IDBObjectStore.prototype.put = realPut;
    expect((await db.getRun('a'))!.step).toBe(0);
    db.close();
  });
});

/** A checkpoint of a fresh trainer advanced `steps` steps (tiny, so tests stay fast). */
async function checkpointAt(steps: number) {
  const trainer = new Trainer(smallConfig(), smallData());
  await trainSteps(trainer, steps);
  const checkpoint = await trainer.saveCheckpoint();
  trainer.dispose();
  return checkpoint;
}

/** Writes records into the runs store as they are, as another version of the app or a hand edit would. */
function putRawRuns(factory: IDBFactory, records: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = factory.open('siamese-playground');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(['runs'], 'readwrite');
      for (const record of records) tx.objectStore('runs').put(record);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

describe('RunsDatabase: records it did not write', () => {
  it('lists every usable run and each unusable record with its reason; the unusable can be deleted', async () => {
    const factory = new IDBFactory();
    const db = await RunsDatabase.open({ factory });
    await db.putRun(runRecord('good', 1));
    const { format: _, ...first } = runRecord('first-format', 2);
    await putRawRuns(factory, [
      // The first app's format: no format field, no updated time, step or checkpoint step, no dataset summary.
      { ...first, updated: undefined, step: undefined, checkpointStep: undefined, dataset: { source: { kind: 'builtin', id: 'shapes' } } },
      { ...runRecord('newer', 3), format: RUN_FORMAT + 1 },
      { ...runRecord('no-config', 4), config: undefined },
      { ...runRecord('bad-steps', 5), config: { ...smallConfig(), totalSteps: -3 } },
      { ...runRecord('bad-status', 6), status: 'exploded' },
      { id: 'junk', name: 7 },
      { ...runRecord('1', 7), id: 42 },
    ]);
    const { runs, unreadable } = await db.listRuns();
    expect(runs.map((r) => r.id)).toEqual(['good', 'first-format']);
    expect(runs[1]).toEqual({ ...runRecord('first-format', 2), updated: 2, step: 0, checkpointStep: null, dataset: { source: { kind: 'builtin', id: 'shapes' }, summary: null } });
    expect(Object.fromEntries(unreadable.map((u) => [u.key, [u.name, u.reason]]))).toEqual({
      newer: ['BYOL newer', `it was saved by a newer version of the app (format ${RUN_FORMAT + 1}; this one reads up to ${RUN_FORMAT})`],
      'no-config': ['BYOL no-config', 'it has no configuration'],
      'bad-steps': ['BYOL bad-steps', "its configuration's totalSteps is -3, not a positive whole number"],
      'bad-status': ['BYOL bad-status', 'its status "exploded" is unknown'],
      junk: [null, 'it has no name'],
      42: ['BYOL 1', 'its id is not text'],
    });
    // An update writes the migrated record in the current format; an unusable one is refused with its reason.
    expect(await db.updateRun('first-format', { step: 4 })).toMatchObject({ format: RUN_FORMAT, step: 4, checkpointStep: null });
    await expect(db.updateRun('newer', { step: 1 })).rejects.toThrow('The saved run "BYOL newer" cannot be read: it was saved by a newer version of the app');
    await expect(db.getRun('no-config')).rejects.toThrow(/cannot be read: it has no configuration/);
    await db.deleteRun('junk');
    await db.deleteRun(42);
    expect((await db.listRuns()).unreadable.map((u) => u.key)).toEqual(['bad-status', 'bad-steps', 'newer', 'no-config']);
    db.close();
  });
});
