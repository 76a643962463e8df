import { describe, expect, it } from 'vitest';
import { embeddingsToProjectorTsv, metricsToCsv, metricsToJson, type MetricPoint } from './export';

const history: MetricPoint[] = [
  { step: 0, loss: 3.5, featureStd: 0.088, learningRate: 0.01, tau: 0.99 },
  { step: 1, loss: 3.25, featureStd: 0.07, learningRate: 0.02, tau: 0.99, knnTop1: 0.5 },
  { step: 2, loss: Number.NaN, featureStd: 0.01, learningRate: 0.02, tau: 0.991 },
];

/** A minimal RFC 4180 reader, enough to check that the writer's quoting survives a round trip. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',' || c === '\n') {
      row.push(field);
      field = '';
      if (c === '\n') {
        rows.push(row);
        row = [];
      }
    } else field += c;
  }
  return rows;
}

describe('metrics CSV', () => {
  it('has a header, one row per step, extra metrics as columns and markers on their step', () => {
    const csv = metricsToCsv(history, [{ step: 1, label: 'learningRate=0.02, batchSize=32' }]);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual(['step', 'loss', 'featureStd', 'learningRate', 'tau', 'knnTop1', 'settings_change']);
    expect(rows.slice(1)).toEqual([
      ['0', '3.5', '0.088', '0.01', '0.99', '', ''],
      ['1', '3.25', '0.07', '0.02', '0.99', '0.5', 'learningRate=0.02, batchSize=32'],
      ['2', 'NaN', '0.01', '0.02', '0.991', '', ''],
    ]);
    // The comma in the label forced quoting.
    expect(csv).toContain('"learningRate=0.02, batchSize=32"');
  });

  it('gives a marker at a step without a record its own row, in step order, and joins markers of one step', () => {
    const rows = parseCsv(
      metricsToCsv(history.slice(0, 1), [
        { step: 5, label: 'tau=0.9' },
        { step: 5, label: 'say "hi"' },
      ]),
    );
    expect(rows).toEqual([
      ['step', 'loss', 'featureStd', 'learningRate', 'tau', 'settings_change'],
      ['0', '3.5', '0.088', '0.01', '0.99', ''],
      ['5', '', '', '', '', 'tau=0.9; say "hi"'],
    ]);
  });

  it('writes only the header for an empty history', () => {
    expect(metricsToCsv([], [])).toBe('step,settings_change\n');
  });
});

describe('metrics JSON', () => {
  it('holds the run, the full history and the settings changes; NaN survives as a string', () => {
    const text = metricsToJson({ method: 'byol', config: { batchSize: 16 }, dataset: { id: 'shapes' } }, history, [{ step: 1, label: 'tau=0.9' }], new Date('2025-01-02T03:04:05Z'));
    const parsed = JSON.parse(text);
    expect(parsed.format).toBe('siamese-playground/metrics');
    expect(parsed.exportedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(parsed.run.config.batchSize).toBe(16);
    expect(parsed.history).toHaveLength(3);
    expect(parsed.history[1]).toEqual(history[1]);
    expect(parsed.history[2].loss).toBe('NaN');
    expect(parsed.settingsChanges).toEqual([{ step: 1, label: 'tau=0.9' }]);
  });
});

describe('Embedding Projector TSV', () => {
  const embeddings = Float32Array.from([0.1, -2, 3.25, 1 / 3, 0, 1e-8]);

  it('writes vectors without a header and metadata with label and class columns under a header', () => {
    const files = embeddingsToProjectorTsv(embeddings, 3, Int32Array.from([1, 0]), ['circle', 'odd\tname']);
    expect(files.vectors).toBe('0.1\t-2\t3.25\n0.3333333\t0\t1e-8\n');
    expect(files.metadata).toBe('label\tclass\n1\todd name\n0\tcircle\n');
  });

  it('writes a single headerless metadata column without class names, and none without labels', () => {
    expect(embeddingsToProjectorTsv(embeddings, 3, [2, 2]).metadata).toBe('2\n2\n');
    expect(embeddingsToProjectorTsv(embeddings, 2, null)).toEqual({ vectors: '0.1\t-2\n3.25\t0.3333333\n0\t1e-8\n', metadata: null });
  });

  it('refuses shapes that do not fit', () => {
    expect(() => embeddingsToProjectorTsv(embeddings, 4, null)).toThrow(/do not split into rows of 4/);
    expect(() => embeddingsToProjectorTsv(embeddings, 3, [1])).toThrow(/1 labels for 2 embeddings/);
  });
});
