import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, storeToken } from '../api.js';
import { errorText } from '../components.js';

/** Asks for the ops token and checks it with the service before keeping it for this tab. */
export function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [checking, setChecking] = useState(false);
  const [sso, setSso] = useState(false);

  useEffect(() => {
    api.ssoEnabled().then(
      (answer) => setSso(answer.enabled),
      () => setSso(false),
    );
  }, []);

  function startSso() {
    // The callback page keeps the session only in the tab that started the sign-in.
    sessionStorage.setItem('sso-pending', '1');
    window.location.assign('/console/sso/start');
  }

  async function submit(event: Event) {
    event.preventDefault();
    const candidate = token.trim();
    if (candidate === '') {
      setError('Enter the ops API token.');
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      await api.checkToken(candidate);
      storeToken(candidate);
      onSignedIn();
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'The service refused this token. Check the value of OPS_API_TOKEN and try again.'
          : `Could not check the token: ${errorText(failure)}`,
      );
    } finally {
      setChecking(false);
    }
  }

  return (
    <main class="sign-in">
      <h1>Ops console</h1>
      <p>Paste the ops API token. It is kept only in this browser tab and is forgotten when the tab closes.</p>
      {notice !== undefined && error === undefined && (
        <p role="alert" class="error">
          {notice}
        </p>
      )}
      <form onSubmit={(event) => void submit(event)}>
        <label for="ops-token">Ops API token</label>
        <input
          id="ops-token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-invalid={error !== undefined}
          aria-describedby={error !== undefined ? 'sign-in-error' : undefined}
        />
        <button type="submit" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error !== undefined && (
        <p id="sign-in-error" role="alert" class="error">
          {error}
        </p>
      )}
      {sso && (
        <p>
          <button type="button" class="secondary" onClick={startSso}>
            Sign in with single sign-on
          </button>
        </p>
      )}
    </main>
  );
}
