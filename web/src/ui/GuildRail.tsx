import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/http';
import { isUnread } from '../state/state';
import { Dialog, Icon, hashHue } from './Dialog';
import { useAppState, useStore } from './hooks';

export function GuildRail() {
  const store = useStore();
  const order = useAppState((s) => s.guildOrder);
  const guilds = useAppState((s) => s.guilds);
  const selected = useAppState((s) => s.selectedGuild);
  const state = useAppState((s) => s);
  const [dialog, setDialog] = useState<'create' | 'join' | null>(null);

  return (
    <nav className="guild-rail" aria-label="Guilds">
      <ul role="list">
        {order.map((id) => {
          const g = guilds[id];
          if (!g) return null;
          const unread = Object.values(state.channels).some((c) => c.guild_id === id && c.kind === 'text' && isUnread(state, c.id));
          return (
            <li key={id} className={id === selected ? 'active' : ''}>
              <button
                type="button"
                className="guild-icon"
                style={{ background: id === selected ? undefined : `hsl(${hashHue(id)} 30% 28%)` }}
                aria-label={g.name}
                aria-current={id === selected ? 'page' : undefined}
                title={g.name}
                onClick={() => store.selectGuild(id)}
              >
                {initials(g.name)}
                {unread && id !== selected && <span className="pip" aria-hidden="true" />}
              </button>
            </li>
          );
        })}
        <li>
          <button type="button" className="guild-icon action" aria-label="Create guild" title="Create guild" onClick={() => setDialog('create')}>
            <Icon name="plus" />
          </button>
        </li>
        <li>
          <button type="button" className="guild-icon action" aria-label="Join guild" title="Join guild with an invite code" onClick={() => setDialog('join')}>
            <Icon name="join" />
          </button>
        </li>
      </ul>
      {dialog === 'create' && <CreateGuildDialog onClose={() => setDialog(null)} />}
      {dialog === 'join' && <JoinGuildDialog onClose={() => setDialog(null)} />}
    </nav>
  );
}

function initials(name: string) {
  const words = name.trim().split(/\s+/);
  return (words.length > 1 ? words[0][0] + words[1][0] : name.slice(0, 2)).toUpperCase();
}

function CreateGuildDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError('Give the guild a name.');
    setBusy(true);
    try {
      await store.createGuild(name.trim());
      onClose();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Could not create the guild.');
      setBusy(false);
    }
  }
  return (
    <Dialog title="Create a guild" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="guild-name">Guild name</label>
          <input id="guild-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} autoFocus aria-invalid={!!error} aria-describedby={error ? 'guild-name-err' : undefined} />
          {error && (
            <p id="guild-name-err" className="field-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function JoinGuildDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const [code, setCode] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!code.trim()) return setError('Paste an invite code.');
    setBusy(true);
    try {
      await store.joinInvite(code);
      onClose();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') setError('That invite is invalid or has expired.');
      else if (err instanceof ApiError && err.code === 'conflict') setError('You are already a member of that guild.');
      else setError(err instanceof ApiError ? err.message : 'Could not join.');
      setBusy(false);
    }
  }
  return (
    <Dialog title="Join a guild" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="invite-code-input">Invite code</label>
          <input id="invite-code-input" value={code} onChange={(e) => setCode(e.target.value)} autoFocus placeholder="e.g. hK3x9Qa" aria-invalid={!!error} aria-describedby={error ? 'invite-code-err' : undefined} />
          {error && (
            <p id="invite-code-err" className="field-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Join
          </button>
        </div>
      </form>
    </Dialog>
  );
}
