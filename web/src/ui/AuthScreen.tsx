import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../api/http';
import { useStore } from './hooks';

type FieldErrors = { username?: string; password?: string; form?: string };

export function AuthScreen() {
  const store = useStore();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState<'login' | 'register' | null>(null);
  const uid = useId();

  function validate(kind: 'login' | 'register'): FieldErrors {
    const e: FieldErrors = {};
    if (!username.trim()) e.username = 'Enter a username.';
    else if (kind === 'register' && !/^[A-Za-z0-9_.-]{2,32}$/.test(username)) e.username = 'Use 2-32 letters, digits, _ . or -.';
    if (!password) e.password = 'Enter a password.';
    else if (kind === 'register' && (password.length < 8 || password.length > 128)) e.password = 'Use 8 to 128 characters.';
    return e;
  }

  async function submit(kind: 'login' | 'register', ev?: FormEvent) {
    ev?.preventDefault();
    const local = validate(kind);
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(kind);
    try {
      if (kind === 'login') await store.login(username.trim(), password);
      else await store.register(username.trim(), password);
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.field === 'username' || e.field === 'password') setErrors({ [e.field]: e.message });
        else if (e.code === 'conflict') setErrors({ username: e.message || 'That username is taken.' });
        else if (e.status === 401) setErrors({ form: 'Wrong username or password.' });
        else if (e.code === 'rate_limited') setErrors({ form: `Too many attempts; try again in ${e.retryAfter ?? 'a few'} seconds.` });
        else setErrors({ form: e.message });
      } else {
        setErrors({ form: 'Cannot reach the server. Check your connection and try again.' });
      }
    } finally {
      setBusy(null);
    }
  }

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={(e) => submit('login', e)} noValidate aria-labelledby={`${uid}-title`}>
        <div className="brand" aria-hidden="true">
          <img src="/favicon.svg" alt="" width={40} height={40} />
        </div>
        <h1 id={`${uid}-title`}>Welcome to Hype</h1>
        <p className="muted">Log in, or pick a username and password to register.</p>
        <div className="field">
          <label htmlFor={`${uid}-u`}>Username</label>
          <input
            id={`${uid}-u`}
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            aria-invalid={!!errors.username}
            aria-describedby={errors.username ? `${uid}-ue` : undefined}
            autoFocus
          />
          {errors.username && (
            <p id={`${uid}-ue`} className="field-error" role="alert">
              {errors.username}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${uid}-p`}>Password</label>
          <input
            id={`${uid}-p`}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={!!errors.password}
            aria-describedby={errors.password ? `${uid}-pe` : undefined}
          />
          {errors.password && (
            <p id={`${uid}-pe`} className="field-error" role="alert">
              {errors.password}
            </p>
          )}
        </div>
        {errors.form && (
          <p className="form-error" role="alert">
            {errors.form}
          </p>
        )}
        <div className="auth-actions">
          <button type="submit" className="primary" disabled={!!busy}>
            {busy === 'login' ? 'Logging in…' : 'Log in'}
          </button>
          <button type="button" className="secondary" disabled={!!busy} onClick={() => submit('register')} aria-label="Register">
            {busy === 'register' ? 'Registering…' : 'Register'}
          </button>
        </div>
      </form>
    </main>
  );
}
