import { useRef } from 'react';
import type { PickedFile } from '../../data/folder-loader';
import { directoryPicker, filesFromDirectoryHandle, filesFromInput } from '../folder-picker';

/**
 * "Open folder…": the File System Access picker where the browser has one, else a folder input
 * (also the fallback when the picker is refused). Only File references are gathered.
 */
export function FolderPickButton({ inputLabel, disabled, onPicked }: { inputLabel: string; disabled: boolean; onPicked(picked: { name: string; files: PickedFile[] }): void }) {
  const input = useRef<HTMLInputElement>(null);
  const pick = async () => {
    const picker = directoryPicker();
    if (!picker) return input.current?.click();
    try {
      onPicked(await filesFromDirectoryHandle(await picker({ mode: 'read' })));
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') return;
      // Some browsers expose the picker but refuse it (permissions, policies): the input still works.
      input.current?.click();
    }
  };
  return (
    <>
      <button type="button" disabled={disabled} onClick={() => void pick()}>
        Open folder…
      </button>
      <input
        ref={input}
        type="file"
        aria-label={inputLabel}
        className="visually-hidden"
        tabIndex={-1}
        // React has no typed prop for it; the attribute turns the file input into a folder input.
        {...{ webkitdirectory: '', directory: '' }}
        multiple
        onChange={(e) => {
          if (e.target.files) onPicked(filesFromInput(e.target.files));
          e.target.value = '';
        }}
      />
    </>
  );
}
