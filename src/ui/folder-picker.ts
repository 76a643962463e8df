/**
 * Collects the files of a folder the user picked (folder input, File System Access API) or dropped
 * on the page, with their paths inside it. Only File references are gathered; nothing is read here.
 */
import type { PickedFile } from '../data/folder-loader';

/** The File System Access API's folder picker, where the browser has it (Chromium). */
type DirectoryPicker = (options?: { mode?: 'read' | 'readwrite' }) => Promise<FileSystemDirectoryHandle>;
type IterableDirectoryHandle = FileSystemDirectoryHandle & { values(): AsyncIterable<FileSystemHandle> };

export function directoryPicker(): DirectoryPicker | null {
  const picker = (window as unknown as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  return typeof picker === 'function' ? picker.bind(window) : null;
}

/** From `<input type=file webkitdirectory>`: webkitRelativePath starts with the folder's name. */
export function filesFromInput(list: FileList): { name: string; files: PickedFile[] } {
  const files = Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, file }));
  return { name: files[0]?.path.split('/')[0] ?? 'folder', files };
}

export async function filesFromDirectoryHandle(root: FileSystemDirectoryHandle): Promise<{ name: string; files: PickedFile[] }> {
  const files: PickedFile[] = [];
  const walk = async (directory: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
    for await (const handle of (directory as IterableDirectoryHandle).values()) {
      const path = `${prefix}/${handle.name}`;
      if (handle.kind === 'file') files.push({ path, file: await (handle as FileSystemFileHandle).getFile() });
      else await walk(handle as FileSystemDirectoryHandle, path);
    }
  };
  await walk(root, root.name);
  return { name: root.name, files };
}

function readAllEntries(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const entries: FileSystemEntry[] = [];
  // readEntries returns at most ~100 entries a call: read until it returns none.
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(entries);
        else {
          entries.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));

/** From a drop: folders are walked; loose files dropped together form a flat folder. */
export async function filesFromDrop(transfer: DataTransfer): Promise<{ name: string; files: PickedFile[] }> {
  const roots = Array.from(transfer.items, (item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const files: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) files.push({ path, file: await fileOf(entry as FileSystemFileEntry) });
    else for (const child of await readAllEntries(entry as FileSystemDirectoryEntry)) await walk(child, `${path}/${child.name}`);
  };
  for (const root of roots) await walk(root, root.name);
  const single = roots.length === 1 && roots[0].isDirectory;
  return { name: single ? roots[0].name : 'Dropped files', files };
}

/** Why a picked folder cannot be trained on before it is read (it has no files at all), or null. */
export function emptyFolderProblem(picked: { name: string; files: readonly PickedFile[] }): string | null {
  return picked.files.length === 0 ? `"${picked.name}" is empty: there are no files in it to train on. The current dataset stays selected.` : null;
}
