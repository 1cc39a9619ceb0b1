import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Store } from './state/store';
import { StoreContext } from './ui/hooks';
import { App } from './ui/App';
import './ui/styles.css';

const store = new Store();
// Test and diagnostics hooks (the e2e tests read rtcService.getStatsSummary()).
(window as unknown as { __hype: unknown }).__hype = { store, rtcService: store.rtc, gateway: store.gateway };
store.start();
window.addEventListener('pagehide', () => store.pageHide());

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>,
);
