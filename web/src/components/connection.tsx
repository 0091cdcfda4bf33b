/** The connection banner (dashboard unreachable, reconnecting) and the token dialog (401). */
import { useEffect, useRef, useState } from 'preact/hooks';
import { checkConnection, errorMessage, hasToken, setToken } from '../api';
import { useConn } from '../hooks';
import { Button, Spinner } from './ui';

export function ConnectionBanner() {
  const c = useConn();
  const [back, setBack] = useState(false);
  const wasOffline = useRef(false);
  useEffect(() => {
    if (!c.online) wasOffline.current = true;
    else if (wasOffline.current) {
      wasOffline.current = false;
      setBack(true);
      const t = setTimeout(() => setBack(false), 4000);
      return () => clearTimeout(t);
    }
    return undefined;
  }, [c.online]);
  useEffect(() => {
    const online = () => checkConnection();
    window.addEventListener('online', online);
    window.addEventListener('offline', online);
    return () => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', online);
    };
  }, []);
  if (!c.online) {
    return (
      <div class="banner banner-bad" role="alert" data-testid="connection-banner">
        <Spinner /> {c.lostReason ?? 'The dashboard does not answer'}. Showing the last data received; reconnecting…
      </div>
    );
  }
  if (back)
    return (
      <div class="banner banner-ok" role="status" data-testid="connection-restored">
        Connected to the dashboard again; data reloaded.
      </div>
    );
  return null;
}

export function TokenDialog() {
  const c = useConn();
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (c.needToken) input.current?.focus();
  }, [c.needToken]);
  if (!c.needToken) return null;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!value.trim()) {
      setError('Enter the token the dashboard was started with (--auth-token-file).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // Checked before it is kept: a refused token must not close the dialog.
      const res = await fetch('/api/projects', {
        headers: { Authorization: `Bearer ${value.trim()}` },
        cache: 'no-store',
      });
      if (res.status === 401) {
        setError('The dashboard refused this token.');
        return;
      }
      setValue('');
      setToken(value);
    } catch (err) {
      setError(`The dashboard does not answer (${errorMessage(err)}); try again when it is back.`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby="token-title" data-testid="token-dialog">
        {/* submit reports its own failures in the dialog: nothing is left to reject. */}
        <form onSubmit={(e) => void submit(e)}>
          <h2 id="token-title">This dashboard needs a token</h2>
          <p>
            It was started with <code>--auth-token-file</code>: every API call must carry that token. It is kept in this
            browser tab only (session storage) until you close it.
          </p>
          <label class={`field ${error || c.tokenRefused ? 'field-invalid' : ''}`}>
            <span class="field-label">Dashboard token</span>
            <input
              ref={input}
              type="password"
              autocomplete="current-password"
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
              name="token"
            />
            {(error || (c.tokenRefused && !busy)) && (
              <span class="error-text field-error" role="alert">
                {error ?? 'The dashboard refused the token this tab had; enter it again.'}
              </span>
            )}
          </label>
          <div class="actions">
            <Button type="submit" variant="primary" busy={busy}>
              Sign in
            </Button>
            {hasToken() && <Button onClick={() => setToken(undefined)}>Forget the old token</Button>}
          </div>
        </form>
      </div>
    </div>
  );
}
