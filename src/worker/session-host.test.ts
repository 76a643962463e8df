import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../engine/config';
import { DEFAULT_EVALUATION } from '../engine/evaluation-settings';
import { createProjectedEncoder, classroomAugmentations, methodPresets, soloAugmentations } from '../engine/methods/shared';
import { readOptions, type MethodOptionSpecs } from '../engine/methods/options';
import { registerMethod } from '../engine/methods/registry';
import type { MethodDefinition } from '../engine/methods/types';
import { alignment, uniformity } from '../engine/metrics';
import { LABELLING_MAP_SUGGESTED, LABELLING_MAP_UNLABELLED, LABELS_ONLY_SERIES, type FromWorker, type LabellingCycleRequest, type ToWorker } from './protocol';
import { SessionHost } from './session-host';
import { decodePng, encodePng, solid } from '../data/testing/image-files';

const png = (rgb: [number, number, number]) => new Blob([encodePng(4, 4, solid(4, 4, [...rgb, 255])).slice()]);

/**
 * A method written here and nowhere else (Wang & Isola's alignment + uniformity loss): adding a
 * method is this one definition and one `registerMethod` line; the app's worker protocol then
 * lists it, trains it, evaluates it and checkpoints it like any other.
 */
const ALIGN_UNIFORM_OPTIONS = {
  uniformityWeight: { label: 'Uniformity weight', hint: 'Push: spread the embeddings over the sphere.', kind: 'number', default: 1, min: 0, max: 10 },
} satisfies MethodOptionSpecs;

const alignUniform: MethodDefinition = {
  id: 'align-uniform',
  label: 'Alignment + uniformity (test)',
  family: 'contrastive',
  explanation: 'Pulls the two views of an image together and spreads all embeddings over the sphere.',
  uses: { tau: false, temperature: false, labels: false },
  options: ALIGN_UNIFORM_OPTIONS,
  defaults: methodPresets('align-uniform', ALIGN_UNIFORM_OPTIONS, {
    reference: () => ({ projector: { hidden: [64], out: 16 }, predictor: null, optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 }, learningRate: 0.1, augmentations: soloAugmentations('symmetric') }),
    classroom: () => ({ projector: { hidden: [16], out: 8 }, predictor: null, augmentations: classroomAugmentations(soloAugmentations('symmetric')) }),
  }),
  create({ config, rng }) {
    const { uniformityWeight } = readOptions(ALIGN_UNIFORM_OPTIONS, config);
    const online = createProjectedEncoder(config, rng, 'online');
    return {
      encoder: online.backbone,
      params: online.module.params,
      modules: [online.module],
      computeLoss({ views }) {
        const { features, embedding: z1 } = online.encode(views[0], true);
        const z2 = online.project(views[1], true);
        const pull = alignment(z1, z2);
        const push = tf.mul(uniformityWeight, uniformity(z1)) as tf.Scalar;
        return { loss: tf.add(pull, push) as tf.Scalar, terms: { pull, push }, embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
    };
  },
};
registerMethod(alignUniform);

const QUICK_SHAPES = { kind: 'builtin', id: 'shapes-quick' } as const;
/** Every host below is started with ?backend=cpu, which this request then cannot override. */
/** The page asks for the CPU backend on every start, as it does when the address says ?backend=cpu. */
const CPU = { kind: 'use', name: 'cpu' } as const;

function tiny(config: TrainConfig, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...config, imageSize: 8, batchSize: 8, totalSteps: 6, backbone: { kind: 'convnet', widths: [4, 8] }, ...overrides };
}

/** A host as the worker runs it, with every message it posts kept. */
function connectedHost() {
  const posted: FromWorker[] = [];
  const host = new SessionHost((message) => posted.push(message), decodePng);
  const send = (message: ToWorker) => host.handle(message);
  const of = <T extends FromWorker['type']>(type: T) => posted.filter((m): m is Extract<FromWorker, { type: T }> => m.type === type);
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; states: ${JSON.stringify(of('state'))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const state = () => of('state').at(-1)?.state;
  return { posted, send, of, until, state };
}

describe('the training worker protocol (session host)', () => {
  it('lists, trains, evaluates and checkpoints a method registered by one line', async () => {
    const { send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    expect(of('backend')[0].info.name).toBe('cpu');
    const summary = of('catalog')[0].methods.find((m) => m.id === 'align-uniform');
    expect(summary?.options).toEqual(ALIGN_UNIFORM_OPTIONS);
    const config = tiny(summary!.defaults.classroom, { options: { uniformityWeight: 2 } });

    await send({ type: 'start', runs: [{ id: 'run', name: 'mine', config }], dataset: QUICK_SHAPES, backend: CPU, evaluation: { ...DEFAULT_EVALUATION, everySteps: 3, maxTimeShare: 1 }, checkpoints: true });
    await until(() => state() === 'finished', 'the run to finish');

    const records = of('progress').flatMap((m) => m.report.runs[0].records);
    expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of records) expect(r.loss).toBeCloseTo(r.terms.pull + r.terms.push, 5);
    expect(of('evaluation').map((e) => e.result.step)).toEqual([1, 3, 6]);
    expect(of('evaluation').every((e) => e.result.knnAccuracy !== null && e.result.bankSize === 240 && e.result.heldOutSize === 60)).toBe(true);
    expect(of('dataset')[0].summary).toMatchObject({ trainCount: 240, testCount: 60, imageSize: 8 });
    const checkpoint = of('checkpoint').at(-1)!.checkpoint;
    expect(checkpoint.config.method).toBe('align-uniform');
    expect(checkpoint.stream.step).toBe(6);
    expect(of('state').at(-1)!.message).toBe('Finished 6 steps.');
    await send({ type: 'reset' });
  });

  it('a comparison is a session of several runs: each reports, each is evaluated, and the finish names them', async () => {
    const { send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const methods = of('catalog')[0].methods;
    const runs = ['align-uniform', 'simclr'].map((id, i) => ({ id: `run${i}`, name: id, config: tiny(methods.find((m) => m.id === id)!.defaults.classroom, { totalSteps: 4 * (i + 1) }) }));
    await send({ type: 'start', runs, dataset: QUICK_SHAPES, backend: CPU, evaluation: { ...DEFAULT_EVALUATION, maxTimeShare: 1 }, evaluationsPerRun: 2, checkpoints: false });
    await until(() => state() === 'finished', 'the comparison to finish');
    for (const [i, run] of runs.entries()) {
      const steps = of('progress').flatMap((m) => m.report.runs[i].records.map((r) => r.step));
      expect(steps).toEqual(Array.from({ length: run.config.totalSteps }, (_, s) => s + 1));
      expect(of('evaluation').filter((e) => e.runId === run.id).map((e) => e.result.step)).toEqual(i === 0 ? [1, 2, 4] : [1, 4, 8]);
    }
    expect(of('checkpoint')).toEqual([]);
    expect(of('state').at(-1)!.message).toBe('Finished: 2 runs, every one to its last step.');
    await send({ type: 'reset' });
  });

  it('a comparison that asks for the untrained reference gets the first run\'s step-0 evaluation before any progress, the runs\' cadence unchanged', async () => {
    const { posted, send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const simclr = of('catalog')[0].methods.find((m) => m.id === 'simclr')!;
    const runs = [0.5, 0.1].map((temperature, i) => ({ id: `run${i}`, name: `τ ${temperature}`, config: tiny(simclr.defaults.classroom, { totalSteps: 4, temperature }) }));
    await send({ type: 'start', runs, dataset: QUICK_SHAPES, backend: CPU, evaluation: { ...DEFAULT_EVALUATION, maxTimeShare: 1 }, evaluationsPerRun: 2, untrainedReference: true, checkpoints: false });
    await until(() => state() === 'finished', 'the comparison to finish');
    const reference = posted.findIndex((m) => m.type === 'evaluation');
    expect(posted[reference]).toMatchObject({ runId: 'run0', result: { step: 0 } });
    expect(posted.findIndex((m) => m.type === 'progress')).toBeGreaterThan(reference);
    expect(of('evaluation').filter((e) => e.result.step === 0)).toHaveLength(1);
    for (const run of runs) expect(of('evaluation').filter((e) => e.runId === run.id && e.result.step > 0).map((e) => e.result.step)).toEqual([1, 2, 4]);
    await send({ type: 'reset' });
  });

  it('runs a simulated active-learning experiment: one cycle message per cycle and series, then finished; refuses an impossible plan', async () => {
    const { send, of, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const request = { dataset: QUICK_SHAPES, strategies: ['coreset' as const], labelsOnly: true, initial: 6, budget: 6, cycles: 2, stepsPerCycle: 2, reinitialise: false, seed: 1, imageSize: 8, batchSize: 4, backend: CPU };
    await send({ type: 'activeLearning', request });
    const cycles = of('activeLearningCycle');
    expect(cycles.map((m) => [m.series, m.point.cycle, m.point.labelled, m.point.reveals])).toEqual([
      ['coreset', 1, 6, 12],
      ['coreset', 2, 12, 12],
      [LABELS_ONLY_SERIES, 1, 6, 12],
      [LABELS_ONLY_SERIES, 2, 12, 12],
    ]);
    for (const { point, classNames } of cycles) {
      expect(point.perClassLabels).toHaveLength(classNames.length);
      expect(point.perClassLabels.reduce((a, b) => a + b, 0)).toBe(point.labelled);
      // 60 held-out images.
      expect(Math.abs(point.accuracy * 60 - Math.round(point.accuracy * 60))).toBeLessThan(1e-6);
    }
    expect(of('state').at(-1)).toMatchObject({ state: 'finished', message: 'Finished 2 series of 2 cycles.' });

    await send({ type: 'activeLearning', request: { ...request, budget: 300 } });
    expect(state()).toBe('error');
    expect(of('state').at(-1)!.message).toBe('2 cycles from 6 labels, 300 more per cycle, need 306 labels, but there are only 240 training images: lower the budget or the cycles.');
  });

  it('labels your own folder by path: a flat folder needs named classes, a path labelled twice keeps its last label, a missing path is noted, suggestions skip labelled images', async () => {
    const { send, of, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const files = Array.from({ length: 10 }, (_, i) => ({ path: `flat/${i}.png`, file: png([20 * i, 100, 200 - 15 * i]) }));
    await send({ type: 'folderFiles', files, first: true });
    await send({ type: 'openFolder', name: 'flat', imageSize: 16 });
    const request: LabellingCycleRequest = { folder: 'flat', classNames: [], labels: [], strategy: 'coreset', budget: 3, stepsPerCycle: 2, plannedCycles: 2, seed: 1, imageSize: 16, batchSize: 4, backend: CPU };
    await send({ type: 'labellingCycle', request });
    expect(state()).toBe('error');
    expect(of('state').at(-1)!.message).toMatch(/^Name at least two classes before the first cycle/);

    const labels = [
      { path: '0.png', label: 0 },
      { path: '0.png', label: 1 },
      { path: 'gone.png', label: 0 },
    ];
    await send({ type: 'labellingCycle', request: { ...request, classNames: ['red', 'blue'], labels } });
    expect(of('state').at(-1)).toMatchObject({ state: 'finished', message: 'Cycle 1 trained on 1 labelled images; 3 suggested.' });
    const { result } = of('labellingSuggestions').at(-1)!;
    expect(result).toMatchObject({ cycle: 1, trainedWith: 1, fromFolder: 0, perClassLabels: [0, 1], unlabelled: 9, trainCount: 10, size: 16 });
    expect(result.notes).toEqual([
      'No image is labelled "red" yet: the classifier cannot learn that class until one is.',
      "1 of your labels name images that are not among this folder's training images (moved, renamed or held out); they are kept, not trained on.",
    ]);
    expect(result.suggestions).toHaveLength(3);
    for (const suggestion of result.suggestions) {
      expect(suggestion.path).toMatch(/^[1-9]\.png$/);
      expect(suggestion.pixels).toHaveLength(16 * 16 * 4);
    }
    // Every image of the folder is on the map: the labelled one with its class (blue = 1), three suggested, six others.
    expect(Array.from(result.map.kinds).sort()).toEqual([1, ...Array(3).fill(LABELLING_MAP_SUGGESTED), ...Array(6).fill(LABELLING_MAP_UNLABELLED)].sort());

    // The next cycle goes on from the first (warm start) with the suggestions labelled.
    const more = [...labels, ...result.suggestions.map((s) => ({ path: s.path, label: 0 }))];
    await send({ type: 'labellingCycle', request: { ...request, classNames: ['red', 'blue'], labels: more } });
    expect(of('labellingSuggestions').at(-1)!.result).toMatchObject({ cycle: 2, trainedWith: 4, perClassLabels: [3, 1], unlabelled: 6 });
    await send({ type: 'reset' });
  });

  it("opens a partly labelled folder as flat for labelling: its class folders' images count as labels for the classes named alike, its loose images are suggested", async () => {
    const { send, of } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const foldered = ['red', 'blue'].flatMap((name, c) => Array.from({ length: 4 }, (_, i) => ({ path: `pets/${name}/${i}.png`, file: png([c === 0 ? 200 : 10, 30 * i, c === 0 ? 10 : 200]) })));
    const loose = Array.from({ length: 4 }, (_, i) => ({ path: `pets/loose${i}.png`, file: png([100, 40 * i, 100]) }));
    await send({ type: 'folderFiles', files: [...foldered, ...loose], first: true });
    await send({ type: 'openFolder', name: 'pets', imageSize: 16, asFlat: true });
    // Nothing held out: all twelve are for training, and the report names the class folders.
    expect(of('datasetReady').at(-1)!.report).toMatchObject({ trainCount: 12, classNames: [], folderClasses: ['blue', 'red'] });
    const request: LabellingCycleRequest = { folder: 'pets', classNames: ['blue', 'red', 'green'], labels: [], strategy: 'random', budget: 2, stepsPerCycle: 2, plannedCycles: 1, seed: 1, imageSize: 16, batchSize: 4, backend: CPU };
    await send({ type: 'labellingCycle', request });
    const { result } = of('labellingSuggestions').at(-1)!;
    expect(result).toMatchObject({ trainedWith: 8, fromFolder: 8, perClassLabels: [4, 4, 0], unlabelled: 4 });
    expect(result.suggestions.map((s) => s.path)).toHaveLength(2);
    for (const suggestion of result.suggestions) expect(suggestion.path).toMatch(/^loose[0-3]\.png$/);
    // A label given by hand wins over the image's folder.
    await send({ type: 'labellingCycle', request: { ...request, labels: [{ path: 'red/0.png', label: 2 }] } });
    expect(of('labellingSuggestions').at(-1)!.result).toMatchObject({ trainedWith: 8, fromFolder: 7, perClassLabels: [4, 3, 1] });
    await send({ type: 'reset' });
  });

  it('pause, a single step, a live setting and resume act between steps; reset frees the session', async () => {
    const { send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const byol = of('catalog')[0].methods.find((m) => m.id === 'byol')!;
    const tensorsBefore = tf.memory().numTensors;
    await send({ type: 'start', runs: [{ id: 'run', name: 'byol', config: tiny(byol.defaults.classroom, { totalSteps: 400 }) }], dataset: QUICK_SHAPES, backend: CPU, evaluation: null, checkpoints: false });
    await until(() => of('progress').length > 0, 'a first report');
    await send({ type: 'pause' });
    await until(() => state() === 'paused', 'the pause');
    const steps = () => of('progress').at(-1)!.report.runs[0].steps;
    const pausedAt = steps();
    await send({ type: 'step' });
    expect(steps()).toBe(pausedAt + 1);
    await send({ type: 'update', changes: { learningRate: 1e-3 } });
    expect(of('settingsApplied').at(-1)).toMatchObject({ step: pausedAt + 1, changes: { learningRate: 1e-3 } });
    await send({ type: 'update', changes: { batchSize: 100_000 } });
    expect(of('settingsRejected').at(-1)!.message).toMatch(/batch size 100000 is larger than the dataset \(240 images\)/);
    await send({ type: 'resume' });
    await until(() => steps() > pausedAt + 3, 'more steps after resuming');
    const records = of('progress').flatMap((m) => m.report.runs[0].records).filter((r) => r.step > pausedAt + 1);
    // The classroom peak is 2e-3; after the change the schedule runs below the new peak of 1e-3.
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.learningRate <= 1e-3 * (1 + 1e-6))).toBe(true);
    await send({ type: 'reset' });
    expect(state()).toBe('idle');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('a run that cannot start says why, and a diverged run stops with the step and what to do', async () => {
    const { send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const byol = of('catalog')[0].methods.find((m) => m.id === 'byol')!;
    await send({ type: 'start', runs: [{ id: 'run', name: 'byol', config: tiny(byol.defaults.classroom, { batchSize: 1000 }) }], dataset: QUICK_SHAPES, backend: CPU, evaluation: null, checkpoints: false });
    expect(state()).toBe('error');
    expect(of('state').at(-1)!.message).toMatch(/batch size 1000 is larger than the dataset \(240 images\)/);

    await send({ type: 'start', runs: [{ id: 'run', name: 'byol', config: tiny(byol.defaults.classroom, { learningRate: 1e30, warmupSteps: 0 }) }], dataset: QUICK_SHAPES, backend: CPU, evaluation: null, checkpoints: true });
    await until(() => state() === 'finished', 'the diverged run to stop');
    expect(of('state').at(-1)!.message).toMatch(/^The loss became NaN at step \d, so the run stopped\. .*lower it/);
    // Non-finite weights are not worth keeping: no checkpoint of the diverged run.
    expect(of('checkpoint')).toEqual([]);
    await send({ type: 'reset' });
  });

  it('an allocation failure mid-run interrupts the run at its step, frees it, and its checkpoint resumes once memory allows', async () => {
    const { send, of, until, state } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    const byol = of('catalog')[0].methods.find((m) => m.id === 'byol')!;
    const tensorsBefore = tf.memory().numTensors;
    await send({ type: 'start', runs: [{ id: 'run', name: 'byol', config: tiny(byol.defaults.classroom, { totalSteps: 400 }) }], dataset: QUICK_SHAPES, backend: CPU, evaluation: null, checkpoints: true });
    await until(() => of('progress').length > 0, 'a first report');
    await send({ type: 'pause' });
    await until(() => state() === 'paused' && of('checkpoint').length > 0, 'the pause and its checkpoint');
    const checkpoint = of('checkpoint').at(-1)!.checkpoint;
    const pausedAt = of('progress').at(-1)!.report.runs[0].steps;
    // Room for what the paused run holds, not for a step's activations.
    await send({ type: 'capMemory', bytes: tf.memory().numBytes + 1 });
    const statesBefore = of('state').length;
    await send({ type: 'step' });
    expect(of('runInterrupted')).toEqual([{ type: 'runInterrupted', cause: 'memory', step: pausedAt, detail: expect.stringMatching(/^Could not allocate .* capped at/) }]);
    // No error state: the page decides what to say; nothing trains, and every tensor of the run is freed.
    expect(of('state').slice(statesBefore)).toEqual([]);
    await until(() => tf.memory().numTensors === tensorsBefore, 'the interrupted session to be freed');
    await send({ type: 'step' });
    expect(of('progress').at(-1)!.report.runs[0].steps).toBe(pausedAt);

    await send({ type: 'capMemory', bytes: null });
    await send({ type: 'restore', checkpoint, dataset: QUICK_SHAPES, name: 'byol', evaluation: { ...DEFAULT_EVALUATION, everySteps: 0 }, backend: CPU, train: true });
    await until(() => (of('progress').at(-1)?.report.runs[0].steps ?? 0) > pausedAt + 2, 'steps after the restored checkpoint');
    expect(of('state').find((m) => m.state === 'running' && m.message?.startsWith('Restored "byol" at step'))?.message).toBe(`Restored "byol" at step ${pausedAt}; training on.`);
    await send({ type: 'reset' });
  });

  it('asking for a GPU device loss on another backend says there is none to lose', async () => {
    const { send, of } = connectedHost();
    await send({ type: 'init', backend: 'cpu' });
    await send({ type: 'simulateDeviceLoss' });
    expect(of('settingsRejected').at(-1)!.message).toBe('There is no GPU device to lose: this worker trains on cpu, not WebGPU.');
    expect(of('runInterrupted')).toEqual([]);
  });
});
