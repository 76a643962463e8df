/**
 * File formats the app exports, as pure functions (no DOM): metric history as CSV and JSON, and
 * embeddings with their labels as the two TSV files the TensorBoard Embedding Projector
 * (projector.tensorflow.org → "Load") reads.
 */

/** One row of metric history: the step and any numbers recorded for it (loss, featureStd, kNN, …). */
export interface MetricPoint {
  step: number;
  [metric: string]: number;
}

/** A live-settings change, applied from `step` on. */
export interface MetricMarker {
  step: number;
  label: string;
}

/** Columns listed first, in this order, when present; the rest follow in order of first appearance. */
const LEADING_COLUMNS = ['step', 'loss', 'featureStd', 'learningRate', 'tau'];
const MARKER_COLUMN = 'settings_change';

function csvField(value: string): string {
  return /[",\n\r]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Numbers at full precision; NaN and ±Infinity spelled out (a diverged loss is worth seeing). */
function formatNumber(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

/**
 * CSV with a header row, one row per recorded step, and a `settings_change` column naming the
 * live changes applied from that step (several joined with "; "). A change at a step with no
 * record gets a row of its own.
 */
export function metricsToCsv(history: readonly MetricPoint[], markers: readonly MetricMarker[]): string {
  const present = new Set<string>();
  for (const point of history) for (const key of Object.keys(point)) present.add(key);
  const columns = [...LEADING_COLUMNS.filter((c) => c === 'step' || present.has(c)), ...[...present].filter((c) => !LEADING_COLUMNS.includes(c))];

  const changes = new Map<number, string[]>();
  for (const m of markers) changes.set(m.step, [...(changes.get(m.step) ?? []), m.label]);
  const rows: { step: number; point: MetricPoint | null }[] = history.map((point) => ({ step: point.step, point }));
  const recordedSteps = new Set(history.map((p) => p.step));
  for (const step of changes.keys()) if (!recordedSteps.has(step)) rows.push({ step, point: null });
  // Stable sort: recorded order is kept for equal steps.
  rows.sort((a, b) => a.step - b.step);

  const lines = [[...columns, MARKER_COLUMN].map(csvField).join(',')];
  const written = new Set<number>();
  for (const { step, point } of rows) {
    const cells = columns.map((c) => (c === 'step' ? String(step) : formatNumber(point?.[c])));
    // A marker goes on the first row of its step only.
    const change = written.has(step) ? '' : (changes.get(step) ?? []).join('; ');
    written.add(step);
    lines.push([...cells, change].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export interface MetricsJsonRun {
  name?: string;
  method: string;
  config: unknown;
  dataset: unknown;
}

/** JSON with the run's configuration, the history and the settings changes. Non-finite numbers become strings. */
export function metricsToJson(run: MetricsJsonRun, history: readonly MetricPoint[], markers: readonly MetricMarker[], exportedAt = new Date()): string {
  const document = {
    format: 'siamese-playground/metrics',
    version: 1,
    exportedAt: exportedAt.toISOString(),
    run,
    history,
    settingsChanges: markers,
  };
  return JSON.stringify(document, (_, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value), 1);
}

export interface ProjectorFiles {
  /** vectors.tsv: one row per point, tab-separated values, no header. */
  vectors: string;
  /** metadata.tsv, or null when there are no labels. A header row only when there are several columns. */
  metadata: string | null;
}

/** Tabs and line breaks would break the TSV layout. */
function tsvField(value: string): string {
  return value.replace(/[\t\r\n]+/g, ' ');
}

/**
 * The Embedding Projector's two files. `embeddings` holds `count × dim` values row by row. Values
 * keep 7 significant digits (float32 precision). With class names, metadata has a "label" and a
 * "class" column and therefore a header; with labels only, a single headerless column.
 */
export function embeddingsToProjectorTsv(embeddings: ArrayLike<number>, dim: number, labels: ArrayLike<number> | null, classNames: readonly string[] = []): ProjectorFiles {
  if (!Number.isInteger(dim) || dim < 1 || embeddings.length % dim !== 0) {
    throw new Error(`${embeddings.length} embedding values do not split into rows of ${dim}`);
  }
  const count = embeddings.length / dim;
  if (labels && labels.length !== count) throw new Error(`${labels.length} labels for ${count} embeddings`);
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const row: string[] = [];
    for (let j = 0; j < dim; j++) row.push(String(Number(embeddings[i * dim + j].toPrecision(7))));
    rows.push(row.join('\t'));
  }
  const vectors = `${rows.join('\n')}\n`;
  if (!labels) return { vectors, metadata: null };
  const labelRows = Array.from(labels, (label) => (classNames.length > 0 ? `${label}\t${tsvField(classNames[label] ?? `class ${label}`)}` : String(label)));
  const metadata = classNames.length > 0 ? ['label\tclass', ...labelRows] : labelRows;
  return { vectors, metadata: `${metadata.join('\n')}\n` };
}
