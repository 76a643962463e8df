import { useEffect, useState } from 'react';
import { useAppStore } from '../store';
import { linkFor, useUrlSync } from '../url-sync';

type CopyState = { kind: 'idle' } | { kind: 'copied' } | { kind: 'manual'; link: string };

/** "Copy link": the address holds every setting, so the link restores this setup anywhere. */
export function ShareLink() {
  const ignored = useUrlSync();
  const methods = useAppStore((s) => s.methods);
  const config = useAppStore((s) => s.config);
  const [copy, setCopy] = useState<CopyState>({ kind: 'idle' });
  const [showIgnored, setShowIgnored] = useState(true);

  useEffect(() => {
    if (copy.kind !== 'copied') return;
    const timer = setTimeout(() => setCopy({ kind: 'idle' }), 4000);
    return () => clearTimeout(timer);
  }, [copy]);

  const copyLink = async () => {
    const link = config ? linkFor(config, methods) : null;
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link);
      setCopy({ kind: 'copied' });
    } catch {
      // No clipboard permission (or an insecure origin): show the link to copy by hand.
      setCopy({ kind: 'manual', link });
    }
  };

  return (
    <div className="share-link">
      <button type="button" disabled={!config} onClick={() => void copyLink()} title="Copy a link that restores the method and every setting">
        Copy link
      </button>
      <span role="status" className="share-link-status">
        {copy.kind === 'copied' ? 'Link copied' : null}
      </span>
      {copy.kind === 'manual' ? (
        <label className="share-link-manual">
          Copy this link:
          <input readOnly value={copy.link} onFocus={(e) => e.target.select()} autoFocus />
        </label>
      ) : null}
      {ignored.length > 0 && showIgnored ? (
        <div role="alert" className="share-link-ignored">
          <p>Some settings in the link were not applied:</p>
          <ul>
            {ignored.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
          <button type="button" onClick={() => setShowIgnored(false)}>
            Dismiss
          </button>
        </div>
      ) : null}
    </div>
  );
}
