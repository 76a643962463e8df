import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { labelCounts, pendingSuggestions, type LabellingProject } from '../../../storage/labelling-project';
import { STRATEGY_CHOICES } from '../../active-learning-store';
import { downloadLabels, labelImage, labellingCycleProblem, nameClasses, openLabellingFolder, restoreLabelling, runLabellingCycle, skipSuggestion, unlabelImage } from '../../labelling-client';
import { useAppStore } from '../../store';
import { PreviewCanvas } from '../AugmentationPanel';
import { FolderPickButton } from '../FolderPickButton';
import { LabellingMapView } from './LabellingMapView';
import { NumberField } from '../NumberField';
import { SelectField } from '../SelectField';

/** Labels listed at most, newest first (the CSV has them all). */
const LABELS_SHOWN = 200;

/** The class names as typed, committed on Enter or blur. */
function ClassNamesField({ project }: { project: LabellingProject }) {
  const shown = project.classNames.join(', ');
  const [text, setText] = useState(shown);
  useEffect(() => setText(shown), [shown]);
  const commit = () => text !== shown && nameClasses(text);
  return (
    <label className="field">
      <span>Class names (comma-separated; keys 1–9 label with the first nine)</span>
      <input type="text" value={text} placeholder="cat, dog" onChange={(e) => setText(e.target.value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />
    </label>
  );
}

/**
 * The images the last cycle suggested: a click on a class (or its number key while the image, or the
 * grid, has the focus) labels one; S skips it. Labelled ones stay, showing their label, so a
 * mistake is corrected with another click. The focus moves on to the next image still waiting.
 */
function SuggestionGrid({ project, busy }: { project: LabellingProject; busy: boolean }) {
  const grid = useRef<HTMLDivElement>(null);
  const pending = pendingSuggestions(project);
  const focusNext = (after: string) => {
    // The store has changed by the time this runs: read the pending images again.
    requestAnimationFrame(() => {
      const waiting = pendingSuggestions(useAppStore.getState().activeLearning.labelling.project ?? project);
      const next = waiting.find((s) => s.path !== after) ?? null;
      const target = next ? grid.current?.querySelector<HTMLElement>(`[data-path="${CSS.escape(next.path)}"]`) : null;
      target?.focus();
    });
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const focused = (event.target as HTMLElement).closest<HTMLElement>('[data-path]')?.dataset.path ?? pending[0]?.path;
    if (!focused) return;
    if (/^[1-9]$/.test(event.key)) {
      const className = project.classNames[Number(event.key) - 1];
      if (!className) return;
      event.preventDefault();
      labelImage(focused, className);
      focusNext(focused);
    } else if (event.key === 's' || event.key === 'S') {
      event.preventDefault();
      skipSuggestion(focused);
      focusNext(focused);
    }
  };
  if (project.suggestions.length === 0) return null;
  return (
    <div>
      <h3>Suggested images</h3>
      <p>
        {pending.length} of {project.suggestions.length} waiting. Click a class, or focus the grid and press its number (S skips).
      </p>
      <div ref={grid} className="suggestion-grid" role="group" aria-label="Suggested images" tabIndex={0} onKeyDown={onKeyDown} aria-disabled={busy || undefined}>
        {project.suggestions.map((suggestion, i) => {
          const label = project.labels[suggestion.path];
          const skipped = project.skipped.includes(suggestion.path);
          const state = label !== undefined ? `labelled ${label}` : skipped ? 'skipped' : 'waiting';
          return (
            <div key={suggestion.path} className="suggestion" role="group" aria-label={`Suggestion ${i + 1}: ${suggestion.path}, ${state}`} data-path={suggestion.path} data-state={label !== undefined ? 'labelled' : skipped ? 'skipped' : 'waiting'} tabIndex={-1}>
              <PreviewCanvas rgba={suggestion.pixels} size={project.thumbnailSize} label={suggestion.path} />
              <div className="suggestion-buttons">
                {project.classNames.map((className, c) => (
                  <button key={className} type="button" aria-pressed={label === className} aria-label={`Label ${suggestion.path} as ${className}`} onClick={() => labelImage(suggestion.path, className)}>
                    {c < 9 ? `${c + 1} ` : ''}
                    {className}
                  </button>
                ))}
                <button type="button" aria-pressed={skipped} aria-label={`Skip ${suggestion.path}`} onClick={() => skipSuggestion(suggestion.path)} disabled={label !== undefined}>
                  Skip
                </button>
              </div>
              <small>
                {suggestion.path} · {state}
              </small>
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** Every label given, newest first, each correctable or removable. */
function LabelTable({ project }: { project: LabellingProject }) {
  const entries = Object.entries(project.labels).reverse().slice(0, LABELS_SHOWN);
  if (entries.length === 0) return null;
  const total = Object.keys(project.labels).length;
  return (
    <table aria-label="Your labels">
      <caption>
        Your labels{total > LABELS_SHOWN ? ` (the latest ${LABELS_SHOWN} of ${total}; the CSV has them all)` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Image</th>
          <th scope="col">Label</th>
          <th scope="col">Remove</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([path, className]) => (
          <tr key={path}>
            <th scope="row">{path}</th>
            <td>
              <select aria-label={`Label of ${path}`} value={className} onChange={(e) => labelImage(path, e.target.value)}>
                {project.classNames.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </td>
            <td>
              <button type="button" aria-label={`Remove the label of ${path}`} onClick={() => unlabelImage(path)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Your own folder, flat or partly labelled: name the classes, train a cycle, label the images it
 * suggests, train the next cycle on them. Labels are kept in IndexedDB as they are given.
 */
export function FolderLabelling() {
  const { settings, folder, project, note, lastCycle, map } = useAppStore((s) => s.activeLearning.labelling);
  const { imageSize, batchSize } = useAppStore((s) => s.activeLearning.settings);
  const runState = useAppStore((s) => s.activeLearning.runState);
  const { editLabelling, edit } = useAppStore((s) => s.activeLearningActions);
  const busy = runState === 'loading' || runState === 'running';
  useEffect(() => void restoreLabelling(), []);
  const problem = labellingCycleProblem();
  const counts = project ? labelCounts(project) : [];
  const labelled = project ? Object.keys(project.labels).length : 0;

  return (
    <div className="folder-labelling">
      <p>
        Open a folder of your images (flat, or with some already in class sub-folders), name the classes, and train a cycle: the app
        suggests the images worth labelling next. Labels are saved in this browser as you give them.
      </p>
      <div className="field-inline">
        <FolderPickButton inputLabel="Image folder to label" disabled={busy} onPicked={(picked) => void openLabellingFolder(picked)} />
        <span aria-label="Folder to label">
          {folder ? `"${folder.name}": ${folder.trainCount} images` : project ? `"${project.id}" (not open since the page loaded)` : 'No folder open'}
        </span>
      </div>
      {project ? (
        <fieldset>
          <legend>Classes and cycles</legend>
          <ClassNamesField project={project} />
          <SelectField label="Strategy" value={settings.strategy} choices={STRATEGY_CHOICES} onChange={(strategy) => editLabelling({ strategy })} />
          <NumberField label="Images per cycle" value={settings.budget} min={1} integer onCommit={(budget) => editLabelling({ budget })} />
          <NumberField label="Steps per cycle" value={settings.stepsPerCycle} min={1} integer onCommit={(stepsPerCycle) => editLabelling({ stepsPerCycle })} />
          <NumberField label="Cycles planned" value={settings.plannedCycles} min={1} integer hint="The learning rate's schedule spans them; a cycle past them extends it." onCommit={(plannedCycles) => editLabelling({ plannedCycles })} />
          <NumberField label="Batch size" value={batchSize} min={2} integer onCommit={(batchSize) => edit({ batchSize })} />
          <SelectField label="Image size" value={imageSize} choices={[16, 32].map((size) => ({ value: size, label: `${size} px` }))} onChange={(imageSize) => edit({ imageSize })} />
          <button type="button" onClick={runLabellingCycle} disabled={busy || problem !== null} title={problem ?? undefined}>
            Train and suggest
          </button>
          <button type="button" onClick={downloadLabels} disabled={labelled === 0}>
            Download labels (CSV)
          </button>
          {problem ? <p className="field-hint">{problem}</p> : null}
        </fieldset>
      ) : null}
      <p role="status" aria-label="Labelling note">
        {note ?? ''}
      </p>
      {project ? (
        <p aria-label="Labels per class">
          {labelled} labelled
          {project.classNames.length > 0 ? `: ${project.classNames.map((name, c) => `${name} ${counts[c]}`).join(', ')}` : ''}
          {folder?.name === project.id ? `; ${Math.max(folder.trainCount - labelled, 0)} unlabelled` : ''}
        </p>
      ) : null}
      {lastCycle ? (
        <div aria-label="Last cycle" role="group">
          <p data-testid="trained-with" data-trained-with={lastCycle.trainedWith}>
            Cycle {lastCycle.cycle} trained on {lastCycle.trainedWith} labelled images
            {lastCycle.fromFolder > 0 ? ` (${lastCycle.fromFolder} of them from the folder's class sub-folders)` : ''}; {lastCycle.unlabelled} are unlabelled.
          </p>
          {lastCycle.notes.length > 0 ? (
            <ul aria-label="Cycle notes">
              {lastCycle.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {project ? <SuggestionGrid project={project} busy={busy} /> : null}
      {project && map ? <LabellingMapView map={map} classNames={project.classNames} /> : null}
      {project ? <LabelTable project={project} /> : null}
    </div>
  );
}
