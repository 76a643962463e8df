/**
 * Your own folder's labels (the Active learning tab): the classes a person named, the label given to
 * each image (by its path in the folder, so the labels outlive a reload and a folder opened again),
 * the images skipped, and the latest cycle's suggestions with their thumbnails. Pure functions over
 * a plain record; `RunsDatabase` keeps the record in IndexedDB with the saved runs. A change never
 * drops a label silently: a correction replaces one label and says so, and a class that still has
 * labels cannot be removed.
 */

export const LABELLING_FORMAT = 1;

/** One suggested image: its path and its thumbnail (size × size RGBA). */
export interface LabellingSuggestion {
  path: string;
  pixels: Uint8ClampedArray;
}

/** What one cycle trained with. */
export interface LabellingCycleRecord {
  cycle: number;
  trainedWith: number;
  perClassLabels: number[];
}

export interface LabellingProject {
  format: typeof LABELLING_FORMAT;
  /** The folder's name: a folder opened again under the same name carries on with its labels. */
  id: string;
  classNames: string[];
  /** Path → class name, in the order given (a correction keeps the image's place). */
  labels: Record<string, string>;
  /** Suggested images the person skipped in the current round (still unlabelled, so suggestable again). */
  skipped: string[];
  /** The latest cycle's suggestions; a reload shows the grid it left. */
  suggestions: LabellingSuggestion[];
  thumbnailSize: number;
  cycles: LabellingCycleRecord[];
  created: number;
  updated: number;
}

export function newLabellingProject(id: string, classNames: string[] = [], now = Date.now()): LabellingProject {
  return { format: LABELLING_FORMAT, id, classNames, labels: {}, skipped: [], suggestions: [], thumbnailSize: 0, cycles: [], created: now, updated: now };
}

/** Class names as typed: separated by commas or new lines, trimmed, empty ones dropped. */
export function parseClassNames(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** "1 label", "2 labels". */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Images labelled `className`. */
function labelledAs(project: LabellingProject, className: string): string[] {
  return Object.keys(project.labels).filter((path) => project.labels[path] === className);
}

/**
 * New class names. Refused (the project unchanged, the reason given) when two are the same or when a
 * class that still has labels would disappear: relabel or remove those images first.
 */
export function renameClasses(project: LabellingProject, classNames: string[]): { project: LabellingProject; problem: string | null } {
  const duplicate = classNames.find((name, i) => classNames.indexOf(name) !== i);
  if (duplicate !== undefined) return { project, problem: `"${duplicate}" is named twice; give each class its own name.` };
  const dropped = project.classNames.filter((name) => !classNames.includes(name) && labelledAs(project, name).length > 0);
  if (dropped.length > 0) {
    const counts = dropped.map((name) => `${plural(labelledAs(project, name).length, 'image')} labelled "${name}"`).join(', ');
    return { project, problem: `${counts}: relabel or remove ${dropped.length === 1 ? 'them' : 'those labels'} before removing the class, so no label is lost.` };
  }
  return { project: { ...project, classNames, updated: Date.now() }, problem: null };
}

/**
 * Labels `path` as `className`. Labelling an image again replaces its label (a correction) and the
 * note says what it was; the same label twice changes nothing and says so.
 */
export function giveLabel(project: LabellingProject, path: string, className: string): { project: LabellingProject; note: string } {
  if (!project.classNames.includes(className)) return { project, note: `"${className}" is not one of the classes (${project.classNames.join(', ') || 'none named yet'}).` };
  const previous = project.labels[path];
  if (previous === className) return { project, note: `${path} is already labelled "${className}".` };
  const skipped = project.skipped.filter((p) => p !== path);
  const updated = { ...project, labels: { ...project.labels, [path]: className }, skipped, updated: Date.now() };
  return { project: updated, note: previous === undefined ? `${path}: "${className}".` : `${path}: was "${previous}", now "${className}".` };
}

/** Takes the label off `path` (it goes back to the unlabelled pool). */
export function removeLabel(project: LabellingProject, path: string): { project: LabellingProject; note: string } {
  const previous = project.labels[path];
  if (previous === undefined) return { project, note: `${path} has no label to remove.` };
  const labels = { ...project.labels };
  delete labels[path];
  return { project: { ...project, labels, updated: Date.now() }, note: `${path}: label "${previous}" removed; it is unlabelled again.` };
}

/** Skips a suggested image this round: it stays unlabelled (and may be suggested again). */
export function skipImage(project: LabellingProject, path: string): { project: LabellingProject; note: string } {
  if (project.labels[path] !== undefined) return { project, note: `${path} is labelled "${project.labels[path]}"; remove the label to leave it unlabelled.` };
  if (project.skipped.includes(path)) return { project, note: `${path} is skipped already.` };
  return { project: { ...project, skipped: [...project.skipped, path], updated: Date.now() }, note: `${path}: skipped.` };
}

/** The suggestions still waiting for a label or a skip, in the order suggested. */
export function pendingSuggestions(project: LabellingProject): LabellingSuggestion[] {
  return project.suggestions.filter((s) => project.labels[s.path] === undefined && !project.skipped.includes(s.path));
}

/** A cycle's answer: its suggestions replace the last ones (skips start afresh) and its numbers are recorded. */
export function withCycle(project: LabellingProject, record: LabellingCycleRecord, suggestions: LabellingSuggestion[], thumbnailSize: number): LabellingProject {
  return { ...project, suggestions, thumbnailSize, skipped: [], cycles: [...project.cycles, record], updated: Date.now() };
}

/** The labels as the worker takes them: class indices, one per path. */
export function labelsForTraining(project: LabellingProject): { path: string; label: number }[] {
  return Object.entries(project.labels).map(([path, name]) => ({ path, label: project.classNames.indexOf(name) }));
}

/** How many images each class has, in the order of the class names. */
export function labelCounts(project: LabellingProject): number[] {
  return project.classNames.map((name) => labelledAs(project, name).length);
}

/** Why a cycle cannot start yet, or null. */
export function cycleProblem(project: LabellingProject): string | null {
  if (project.classNames.length < 2) return 'Name at least two classes first (for example "cat, dog"): the classifier learns to tell them apart, and each label needs a name.';
  return null;
}

/** One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Every label as CSV: a header, then one "file path,label" line per labelled image, in the order given. */
export function labelsCsv(project: LabellingProject): string {
  const lines = ['path,label', ...Object.entries(project.labels).map(([path, name]) => `${csvField(path)},${csvField(name)}`)];
  return `${lines.join('\n')}\n`;
}

/** A stored record as a project, or the reason it cannot be used. */
export function readLabellingProject(value: unknown): LabellingProject | string {
  const record = value as Partial<LabellingProject> | null;
  if (!record || typeof record !== 'object') return 'it is not a record';
  if (record.format !== LABELLING_FORMAT) return `it was saved in format ${String(record.format)}, and this version reads format ${LABELLING_FORMAT}`;
  if (typeof record.id !== 'string' || !Array.isArray(record.classNames) || typeof record.labels !== 'object' || record.labels === null) return 'its fields are missing';
  return record as LabellingProject;
}
