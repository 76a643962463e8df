/**
 * Your own folder in the Active learning tab, on the page side: the folder handed to the tab's worker,
 * each label change kept in IndexedDB at once (one write after another, in order), and the cycle
 * request. The worker trains and suggests (session-host.ts, labellingCycle); nothing here trains.
 */
import type { PickedFile } from '../data/folder-loader';
import {
  cycleProblem,
  giveLabel,
  labelsCsv,
  labelsForTraining,
  newLabellingProject,
  parseClassNames,
  plural,
  removeLabel,
  renameClasses,
  skipImage,
  type LabellingProject,
} from '../storage/labelling-project';
import { RunsDatabase } from '../storage/runs-db';
import { activeLearningWorker, startActiveLearningWorker } from './active-learning-client';
import { unrememberedBackendRequest } from './backend-memory';
import { downloadFile } from './download';
import { useAppStore } from './store';

let database: Promise<RunsDatabase> | null = null;
let writes: Promise<unknown> = Promise.resolve();

const labelling = () => useAppStore.getState().activeLearning.labelling;
const actions = () => useAppStore.getState().activeLearningActions;

/** Storage work after everything asked for before it; a failure is shown and thrown away (the labels stay on the page). */
function stored<T>(work: (db: RunsDatabase) => Promise<T>): Promise<T | null> {
  const next = writes.then(async () => {
    try {
      database ??= RunsDatabase.open();
      return await work(await database);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      actions().setLabellingNote(`${detail} Your labels are still on this page: download them as CSV to keep them.`);
      return null;
    }
  });
  writes = next;
  return next;
}

/** Shows a changed project and saves it. */
function keep(project: LabellingProject, note: string | null): void {
  actions().setProject(project, note);
  void stored((db) => db.putLabelling(project));
}

let watching = false;

/** Follows the worker's answers as they reach the store: a decoded folder names a new project's classes, a cycle's suggestions are saved. */
function watchWorkerAnswers(): void {
  if (watching) return;
  watching = true;
  useAppStore.subscribe((state, previous) => {
    const now = state.activeLearning.labelling;
    const before = previous.activeLearning.labelling;
    if (now.folder && now.folder !== before.folder) folderOpened();
    if (now.project && now.project.cycles.length !== (before.project?.cycles.length ?? 0) && now.project.id === before.project?.id) {
      const project = now.project;
      void stored((db) => db.putLabelling(project));
    }
  });
}

/** After a reload: the project changed last, with its labels and its suggestion grid. */
export async function restoreLabelling(): Promise<void> {
  watchWorkerAnswers();
  if (labelling().project) return;
  const project = await stored((db) => db.latestLabelling());
  if (!project || labelling().project) return;
  const labels = Object.keys(project.labels).length;
  actions().setProject(project, `Restored ${plural(labels, 'label')} of "${project.id}". Open the folder "${project.id}" again to train the next cycle.`);
}

/** Hands a picked folder to the worker and opens its project (its saved labels, or a new one). */
export async function openLabellingFolder(picked: { name: string; files: PickedFile[] }): Promise<void> {
  watchWorkerAnswers();
  startActiveLearningWorker();
  const current = labelling().project;
  const saved = current?.id === picked.name ? current : await stored((db) => db.getLabelling(picked.name));
  actions().setProject(saved ?? newLabellingProject(picked.name), saved ? `${plural(Object.keys(saved.labels).length, 'label')} of "${picked.name}" kept from before.` : null);
  useAppStore.setState((s) => ({ activeLearning: { ...s.activeLearning, labelling: { ...s.activeLearning.labelling, folder: null, lastCycle: null, map: null } } }));
  const { imageSize } = useAppStore.getState().activeLearning.settings;
  // As flat: loose images and class folders' images alike are shown and suggested.
  await activeLearningWorker.openFolder(
    picked.name,
    picked.files,
    imageSize,
    (done, total) => actions().receive({ type: 'loadProgress', progress: { done, total, label: `Handing ${picked.name} to the worker` } }),
    { asFlat: true },
  );
}

/** The folder was decoded: a new project takes its class sub-folders' names as its classes. */
function folderOpened(): void {
  const { folder, project } = labelling();
  if (!folder || !project || project.classNames.length > 0 || folder.folderClasses.length < 2) return;
  const named = renameClasses(project, folder.folderClasses).project;
  keep(named, `Classes taken from the folder's sub-folders: ${folder.folderClasses.join(', ')}. Their images count as labelled; label the loose ones.`);
}

/** The class names typed in (comma-separated); refused with the reason when a label would be lost. */
export function nameClasses(text: string): void {
  const project = labelling().project;
  if (!project) return;
  const { project: renamed, problem } = renameClasses(project, parseClassNames(text));
  if (problem) return actions().setLabellingNote(problem);
  keep(renamed, `Classes: ${renamed.classNames.join(', ') || 'none'}.`);
}

/** Applies an edit to the open project: kept and saved when it changes something; otherwise its note says why not. */
function edit(change: (project: LabellingProject) => { project: LabellingProject; note: string }): void {
  const project = labelling().project;
  if (!project) return;
  const { project: changed, note } = change(project);
  if (changed === project) actions().setLabellingNote(note);
  else keep(changed, note);
}

export function labelImage(path: string, className: string): void {
  edit((project) => giveLabel(project, path, className));
}

export function skipSuggestion(path: string): void {
  edit((project) => skipImage(project, path));
}

export function unlabelImage(path: string): void {
  edit((project) => removeLabel(project, path));
}

export function downloadLabels(): void {
  const project = labelling().project;
  if (project) downloadFile(`${project.id}-labels.csv`, labelsCsv(project), 'text/csv');
}

/** Why the next cycle cannot start, or null. */
export function labellingCycleProblem(): string | null {
  const { project, folder } = labelling();
  if (!project) return 'Open a folder of images first.';
  if (!folder || folder.name !== project.id) return `Open the folder "${project.id}" to train on it (your labels are kept).`;
  return cycleProblem(project);
}

/** Trains the next cycle on the labels given so far; the suggestions come back as labellingSuggestions. */
export function runLabellingCycle(): void {
  const problem = labellingCycleProblem();
  if (problem) return actions().setLabellingNote(problem);
  const { project, settings } = labelling();
  const { seed, imageSize, batchSize } = useAppStore.getState().activeLearning.settings;
  const backendSetting = useAppStore.getState().backendSetting;
  useAppStore.setState((s) => ({ activeLearning: { ...s.activeLearning, runState: 'loading', message: 'Starting the cycle…' } }));
  // Saved before the worker is asked, so a reload during the cycle loses no label.
  const labels = labelsForTraining(project!);
  void stored((db) => db.putLabelling(project!));
  activeLearningWorker.send({
    type: 'labellingCycle',
    request: {
      folder: project!.id,
      classNames: project!.classNames,
      labels,
      ...settings,
      seed,
      imageSize,
      batchSize,
      backend: unrememberedBackendRequest(backendSetting),
    },
  });
}
