import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { experimentsFor, type CatalogMethod, type Experiment } from './experiments';
import { METHODS } from './methods/registry';
import { differingPaths } from './testing/diff';
import { tinyData } from './testing/tiny';
import { Trainer, validateLiveSettings } from './trainer';

const registryCatalog: CatalogMethod[] = METHODS.map((m) => ({ id: m.id, label: m.label, defaults: { classroom: m.defaults('classroom'), reference: m.defaults('reference') } }));

function find(experiments: Experiment[], id: string): Experiment {
  const experiment = experiments.find((e) => e.id === id);
  if (!experiment) throw new Error(`no experiment ${id}`);
  return experiment;
}

/** Built-in data is 1200 training images. */
const SHAPES_TRAIN_COUNT = 1200;

describe('ready-made experiments', () => {
  const experiments = experimentsFor(registryCatalog);

  it('reference only methods of the catalog, with valid classroom configurations that build', () => {
    expect(experiments.length).toBeGreaterThanOrEqual(3);
    const data = tinyData(128, 8);
    for (const experiment of experiments) {
      expect(experiment.question).toMatch(/\?$/);
      expect(experiment.paper.length, experiment.id).toBeGreaterThan(60);
      expect(experiment.runs.length).toBeGreaterThanOrEqual(2);
      expect(new Set(experiment.runs.map((r) => r.name)).size).toBe(experiment.runs.length);
      expect(new Set(experiment.runs.map((r) => `${r.series}/${r.value}`)).size).toBe(experiment.runs.length);
      for (const run of experiment.runs) {
        expect(registryCatalog.map((m) => m.id)).toContain(run.config.method);
        expect(run.config.preset).toBe('classroom');
        expect(() => validateLiveSettings(run.config, SHAPES_TRAIN_COUNT)).not.toThrow();
        const before = tf.memory().numTensors;
        new Trainer(run.config, data).dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    }
  });

  it('BYOL bootstrapping: τ 0, 0.9, 0.99, 0.999 and 1 held constant, nothing else different, with the untrained encoder as reference', () => {
    const { runs, untrainedReference } = find(experiments, 'byol-tau');
    expect(untrainedReference).toBe(true);
    expect(runs.map((r) => r.config.tau)).toEqual([0, 0.9, 0.99, 0.999, 1]);
    expect(runs.every((r) => r.config.tauSchedule === false && r.config.method === 'byol')).toBe(true);
    for (const run of runs.slice(1)) expect(differingPaths(runs[0].config, run.config)).toEqual(['tau']);
    const preset = registryCatalog.find((m) => m.id === 'byol')!.defaults.classroom;
    expect(differingPaths(preset, runs[2].config)).toEqual(['tauSchedule']);
  });

  it("MoCo's momentum: m 0, 0.9, 0.99, 0.999 held constant on MoCo v2's classroom preset, nothing else different", () => {
    const { runs } = find(experiments, 'moco-momentum');
    expect(runs.map((r) => [r.config.method, r.config.tau, r.config.tauSchedule])).toEqual([
      ['mocov2', 0, false],
      ['mocov2', 0.9, false],
      ['mocov2', 0.99, false],
      ['mocov2', 0.999, false],
    ]);
    for (const run of runs.slice(1)) expect(differingPaths(runs[0].config, run.config)).toEqual(['tau']);
  });

  it("MoCo's queue: K 64, 512 and 4096 on MoCo v2's classroom preset, only the queue size different", () => {
    const { runs } = find(experiments, 'moco-queue');
    expect(runs.map((r) => r.config.options.queueSize)).toEqual([64, 512, 4096]);
    const preset = registryCatalog.find((m) => m.id === 'mocov2')!.defaults.classroom;
    for (const run of runs) expect(differingPaths(preset, run.config).filter((p) => p !== 'options.queueSize')).toEqual([]);
  });

  it('sources of negatives: SimCLR (the batch), NPID (a memory bank) and MoCo (a queue) at the same K = 2N − 2, on SimCLR\'s heads, temperature and augmentations', () => {
    const { runs } = find(experiments, 'negatives');
    const [simclr, npid, moco] = runs.map((r) => r.config);
    expect(runs.map((r) => [r.config.method, r.value])).toEqual([
      ['simclr', 'batch, end to end'],
      ['npid', 'memory bank'],
      ['mocov2', 'queue + momentum encoder'],
    ]);
    const k = 2 * simclr.batchSize - 2;
    expect([k, npid.options.negatives, moco.options.queueSize]).toEqual([62, 62, 62]);
    expect(differingPaths(simclr, registryCatalog.find((m) => m.id === 'simclr')!.defaults.classroom)).toEqual([]);
    // What differs from SimCLR is the method, its own options and, for MoCo, the momentum encoder's τ.
    const allowed = (path: string) => path === 'method' || path.startsWith('options.') || path === 'tau' || path === 'tauSchedule';
    expect(differingPaths(simclr, npid).filter((p) => !allowed(p))).toEqual([]);
    expect(differingPaths(simclr, moco).filter((p) => !allowed(p))).toEqual([]);
    expect([moco.tau, moco.tauSchedule]).toEqual([0.99, true]);
  });

  it('collapse on purpose: SimSiam without its stop-gradient, BYOL without its predictor, at τ = 0 and without BatchNorm in its heads, each one change from its preset', () => {
    const { runs, untrainedReference } = find(experiments, 'collapse');
    expect(untrainedReference).toBe(true);
    expect(runs.map((r) => [r.config.method, r.value])).toEqual([
      ['simsiam', 'as published'],
      ['simsiam', 'no stop-gradient'],
      ['byol', 'as published'],
      ['byol', 'no predictor'],
      ['byol', 'τ = 0'],
      ['byol', 'no BatchNorm in the heads'],
    ]);
    const preset = (id: string) => registryCatalog.find((m) => m.id === id)!.defaults.classroom;
    expect(differingPaths(preset('simsiam'), runs[0].config)).toEqual([]);
    expect(differingPaths(preset('byol'), runs[2].config)).toEqual([]);
    expect(differingPaths(runs[0].config, runs[1].config)).toEqual(['options.stopGradient']);
    expect(runs[1].config.options.stopGradient).toBe(0);
    expect(differingPaths(runs[2].config, runs[3].config)).toEqual(['options.predictor']);
    expect(runs[3].config.options.predictor).toBe(0);
    expect(differingPaths(runs[2].config, runs[4].config)).toEqual(['tau', 'tauSchedule']);
    expect([runs[4].config.tau, runs[4].config.tauSchedule]).toEqual([0, false]);
    expect(differingPaths(runs[2].config, runs[5].config).sort()).toEqual(['predictor.hiddenNorm', 'projector.hiddenNorm']);
    expect([runs[5].config.projector.hiddenNorm, runs[5].config.predictor!.hiddenNorm]).toEqual([false, false]);
  });

  it('batch size: 16 to 128 on the same number of images, the learning rate scaled with the batch', () => {
    const runs = find(experiments, 'batch-size').runs.filter((r) => r.series === 'BYOL');
    expect(runs.map((r) => r.config.batchSize)).toEqual([16, 32, 64, 128]);
    const images = runs.map((r) => r.config.totalSteps * r.config.batchSize);
    expect(new Set(images).size).toBe(1);
    const perImage = runs.map((r) => r.config.learningRate / r.config.batchSize);
    perImage.forEach((lr) => expect(lr).toBeCloseTo(perImage[0], 12));
  });

  it('augmentations: full recipe, no colour jitter, crop only, differing only in the recipe, for BYOL and SimCLR', () => {
    const { runs } = find(experiments, 'augmentations');
    expect(runs.map((r) => r.series)).toEqual(['BYOL', 'BYOL', 'BYOL', 'SimCLR', 'SimCLR', 'SimCLR']);
    for (const series of ['BYOL', 'SimCLR']) {
      const own = runs.filter((r) => r.series === series);
      expect(own.map((r) => r.value)).toEqual(['full recipe', 'no colour jitter', 'crop only']);
      const [full, noJitter, cropOnly] = own.map((r) => r.config);
      expect(differingPaths(full, noJitter)).toEqual(['augmentations.0.colorJitter', 'augmentations.1.colorJitter']);
      expect(differingPaths(full, cropOnly).every((p) => p.startsWith('augmentations.'))).toBe(true);
      for (const view of cropOnly.augmentations) {
        expect(view.crop).toEqual(full.augmentations[0].crop);
        expect([view.colorJitter, view.blur, view.grayscaleProbability, view.solarizeProbability]).toEqual([null, null, 0, 0]);
      }
    }
  });

  it('batch size: SimCLR scales from its own preset; the face-off trains BYOL, SimCLR and SimSiam on equal terms', () => {
    const batch = find(experiments, 'batch-size');
    expect(new Set(batch.runs.map((r) => r.series))).toEqual(new Set(['BYOL', 'SimCLR']));
    const simclrPreset = registryCatalog.find((m) => m.id === 'simclr')!.defaults.classroom;
    const simclr = batch.runs.filter((r) => r.series === 'SimCLR').map((r) => r.config);
    const byolImages = batch.runs.filter((r) => r.series === 'BYOL').map((r) => r.config.totalSteps * r.config.batchSize);
    expect(simclr.map((c) => c.totalSteps * c.batchSize)).toEqual(byolImages);
    simclr.forEach((c) => expect(c.learningRate / c.batchSize).toBeCloseTo(simclrPreset.learningRate / simclrPreset.batchSize, 12));

    const faceOff = find(experiments, 'methods');
    expect(faceOff.title).toBe('BYOL vs SimCLR vs SimSiam');
    expect(faceOff.runs.map((r) => r.config.method)).toEqual(['byol', 'simclr', 'simsiam']);
    const [first, ...others] = faceOff.runs.map((r) => r.config);
    for (const other of others) {
      expect([other.backbone, other.imageSize, other.seed]).toEqual([first.backbone, first.imageSize, first.seed]);
      expect(other.totalSteps * other.batchSize).toBe(first.totalSteps * first.batchSize);
    }
  });

  it('pretext vs contrastive: RotNet, context prediction and the jigsaw against SimCLR and BYOL, each its own classroom recipe on one encoder, size, seed and image budget', () => {
    const { runs, title, axis } = find(experiments, 'pretext-vs-contrastive');
    expect([title, axis]).toEqual(['Pretext tasks vs contrastive learning', 'method']);
    expect(runs.map((r) => r.config.method)).toEqual(['rotation', 'context', 'jigsaw', 'simclr', 'byol']);
    expect(runs.map((r) => r.series)).toEqual(Array(5).fill('final kNN'));
    expect(runs.map((r) => r.value)).toEqual(runs.map((r) => r.name));
    const rotation = registryCatalog.find((m) => m.id === 'rotation')!.defaults.classroom;
    for (const run of runs) {
      const preset = registryCatalog.find((m) => m.id === run.config.method)!.defaults.classroom;
      expect(run.name).toBe(registryCatalog.find((m) => m.id === run.config.method)!.label);
      // Every classroom preset already shares the run shape, so each run is its preset unchanged.
      expect(differingPaths(run.config, preset), run.config.method).toEqual([]);
      expect([run.config.backbone, run.config.imageSize, run.config.seed]).toEqual([rotation.backbone, rotation.imageSize, rotation.seed]);
      expect(run.config.totalSteps * run.config.batchSize).toBe(rotation.totalSteps * rotation.batchSize);
    }
  });

  it('pretext vs contrastive: a run whose preset differs in batch size keeps the image budget, and encoder, size and seed follow RotNet', () => {
    const catalog = registryCatalog.map((m) =>
      m.id === 'simclr' ? { ...m, defaults: { ...m.defaults, classroom: { ...m.defaults.classroom, batchSize: 64, imageSize: 16, seed: 4 } } } : m,
    );
    const runs = find(experimentsFor(catalog), 'pretext-vs-contrastive').runs;
    const simclr = runs.find((r) => r.config.method === 'simclr')!.config;
    expect([simclr.batchSize, simclr.totalSteps, simclr.imageSize, simclr.seed]).toEqual([64, 150, 32, 1]);
  });

  it('momentum encoder: SimCLR, SimSiam and Barlow Twins, each with the same network (stop-gradient) and with a momentum encoder, nothing else different', () => {
    const { runs, title } = find(experiments, 'momentum-encoder');
    expect(title).toBe('Is the momentum encoder the key?');
    expect(runs.map((r) => [r.config.method, r.value])).toEqual([
      ['simclr', 'same network'],
      ['simclr', 'momentum encoder'],
      ['simsiam', 'same network'],
      ['simsiam', 'momentum encoder'],
      ['barlow', 'same network'],
      ['barlow', 'momentum encoder'],
    ]);
    for (let i = 0; i < runs.length; i += 2) {
      const [without, withMomentum] = [runs[i].config, runs[i + 1].config];
      expect(withMomentum.options.targetBranch).toBe(2);
      // SimSiam's own branch is the same network with its stop-gradient; the others choose that branch.
      expect(without.options.targetBranch).toBe(without.method === 'simsiam' ? 0 : 1);
      expect(differingPaths(without, withMomentum).filter((p) => p !== 'tau' && p !== 'tauSchedule')).toEqual(['options.targetBranch']);
      expect([withMomentum.tau, withMomentum.tauSchedule]).toEqual([0.99, true]);
    }
  });

  it('every experiment with an untrained reference starts all its runs from the first run\'s untrained encoder (the step-0 line stands for every run)', () => {
    const data = tinyData(128, 8);
    const encoderValues = (trainer: Trainer) => [...trainer.method.encoder.params, ...trainer.method.encoder.buffers].map((p) => Array.from(p.variable.dataSync()));
    const withReference = experiments.filter((e) => e.untrainedReference);
    expect(withReference.map((e) => e.id)).toEqual(['byol-tau', 'pretext-vs-contrastive', 'collapse']);
    for (const experiment of withReference) {
      const first = new Trainer(experiment.runs[0].config, data);
      const reference = encoderValues(first);
      first.dispose();
      for (const run of experiment.runs.slice(1)) {
        const trainer = new Trainer(run.config, data);
        expect(encoderValues(trainer), `${experiment.id}: ${run.name}`).toEqual(reference);
        trainer.dispose();
      }
      // The comparison can fail: another seed draws another encoder.
      const reseeded = new Trainer({ ...experiment.runs[1].config, seed: experiment.runs[1].config.seed + 1 }, data);
      expect(encoderValues(reseeded)).not.toEqual(reference);
      reseeded.dispose();
    }
  });

  it('show only what the catalog allows: no face-off with one method, no BYOL ablations without BYOL', () => {
    const only = (id: string) => registryCatalog.filter((m) => m.id === id);
    expect(experimentsFor(only('byol')).map((e) => e.id)).toEqual(['byol-tau', 'batch-size', 'augmentations']);
    expect(experimentsFor(only('mocov2')).map((e) => e.id)).toEqual(['moco-momentum', 'moco-queue']);
    expect(experimentsFor(only('simclr')).map((e) => e.id)).toEqual(['batch-size', 'augmentations', 'momentum-encoder']);
    expect(experimentsFor(only('vicreg'))).toEqual([]);
    // Pretext tasks need a Siamese method to be compared with, and the other way round.
    expect(experimentsFor(registryCatalog.filter((m) => ['rotation', 'jigsaw'].includes(m.id))).map((e) => e.id)).toEqual([]);
    expect(find(experimentsFor(registryCatalog.filter((m) => ['context', 'byol'].includes(m.id))), 'pretext-vs-contrastive').runs.map((r) => r.config.method)).toEqual(['context', 'byol']);
  });
});
