/**
 * Keeps the address bar and the setup in step: on load, a link's settings are restored (once the
 * worker's method catalog, which holds the defaults, has arrived); afterwards every change of the
 * setup is written back with history.replaceState, so the address is always a link to it.
 */
import { useEffect, useRef, useState } from 'react';
import type { TrainConfig } from '../engine/config';
import type { BuiltinDatasetId, MethodSummary } from '../worker/protocol';
import { useAppStore } from './store';
import { datasets } from './worker-client';
import { decodeConfigQuery, encodeConfigQuery, OTHER_PARAMETERS, type UrlDefaults } from './url-state';

/** The datasets a link can name: a user's own folder cannot travel with it. */
const BUILTIN_DATASETS: BuiltinDatasetId[] = ['shapes', 'silhouettes', 'mnist'];

function urlDefaults(methods: MethodSummary[]): UrlDefaults {
  return {
    methods: methods.map((m) => m.id),
    defaults: (id, preset) => methods.find((m) => m.id === id)?.defaults[preset],
    options: (id) => methods.find((m) => m.id === id)?.options,
    datasets: BUILTIN_DATASETS,
  };
}

/** The full address of the app with `config`, keeping the parameters that are not settings. */
export function linkFor(config: TrainConfig, methods: MethodSummary[]): string | null {
  const method = methods.find((m) => m.id === config.method);
  if (!method) return null;
  const current = new URLSearchParams(location.search);
  const keep = OTHER_PARAMETERS.flatMap((key): [string, string][] => {
    const value = current.get(key);
    return value === null ? [] : [[key, value]];
  });
  const query = encodeConfigQuery(config, method.defaults[config.preset], useAppStore.getState().datasetSource, keep);
  return `${location.origin}${location.pathname}${query}${location.hash}`;
}

/** Restores the setup from the address once, then mirrors it there. Returns what the link could not restore. */
export function useUrlSync(): string[] {
  const methods = useAppStore((s) => s.methods);
  const config = useAppStore((s) => s.config);
  const datasetSource = useAppStore((s) => s.datasetSource);
  const restored = useRef(false);
  const [messages, setMessages] = useState<string[]>([]);

  useEffect(() => {
    if (restored.current || methods.length === 0) return;
    restored.current = true;
    const decoded = decodeConfigQuery(location.search, urlDefaults(methods));
    if (decoded.config) useAppStore.setState({ config: decoded.config });
    if (decoded.dataset) datasets.load(decoded.dataset, (decoded.config ?? useAppStore.getState().config)?.imageSize ?? 32);
    setMessages(decoded.messages);
  }, [methods]);

  useEffect(() => {
    // Read from the store, not the render: the restore above may have just replaced it.
    const current = useAppStore.getState().config;
    if (!restored.current || !current) return;
    const link = linkFor(current, methods);
    if (link && link !== location.href) history.replaceState(history.state, '', link);
  }, [config, methods, datasetSource]);

  return messages;
}
