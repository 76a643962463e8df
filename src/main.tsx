import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { BackendName } from './worker/backend-labels';
import { App } from './ui/App';
import { startWorker } from './ui/worker-client';
import './ui/styles.css';

const requested = new URLSearchParams(location.search).get('backend');
startWorker(requested === 'webgl' || requested === 'cpu' || requested === 'webgpu' ? (requested as BackendName) : undefined);

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
