import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { requestedBackend } from './worker/backend-labels';
import { App } from './ui/App';
import { startWorker } from './ui/worker-client';
import './ui/styles.css';

startWorker(requestedBackend(location.search));

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
