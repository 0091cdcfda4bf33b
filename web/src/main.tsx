import { render } from 'preact';
import { App } from './app';
import './styles.css';

// A promise nobody awaited that failed is a bug; show it instead of failing silently.
window.addEventListener('unhandledrejection', (e) => {
  const box =
    document.getElementById('fatal') ??
    Object.assign(document.createElement('div'), { id: 'fatal', className: 'banner banner-bad' });
  box.setAttribute('role', 'alert');
  box.textContent = `Unexpected error: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`;
  document.body.prepend(box);
});

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
