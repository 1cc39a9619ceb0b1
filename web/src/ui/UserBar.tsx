import { Avatar, Icon } from './Dialog';
import { useAppState, useStore, useVoice } from './hooks';

export function UserBar({ onOpenSettings }: { onOpenSettings: () => void }) {
  const store = useStore();
  const me = useAppState((s) => s.me);
  const status = useAppState((s) => (s.me ? (s.presences[s.me.id] ?? 'online') : 'offline'));
  const voice = useVoice();
  if (!me) return null;
  const speaking = !!voice.speaking[me.id];
  return (
    <section className="user-bar" aria-label="You">
      <Avatar name={me.username} id={me.id} size={32} status={status} speaking={speaking} />
      <div className="user-bar-name">
        <span className="name">{me.username}</span>
        <span className="muted small">{voice.status === 'connected' ? (voice.selfMute ? 'Muted' : voice.transmitting ? 'Transmitting' : 'In voice') : status}</span>
      </div>
      <button
        type="button"
        className={`icon-button${voice.selfMute ? ' toggled' : ''}`}
        aria-label="Mute"
        aria-pressed={voice.selfMute}
        title={voice.selfMute ? 'Unmute (Ctrl+Shift+M)' : 'Mute (Ctrl+Shift+M)'}
        onClick={() => store.rtc.setMute(!voice.selfMute)}
      >
        <Icon name={voice.selfMute ? 'micOff' : 'mic'} />
      </button>
      <button
        type="button"
        className={`icon-button${voice.selfDeaf ? ' toggled' : ''}`}
        aria-label="Deafen"
        aria-pressed={voice.selfDeaf}
        title={voice.selfDeaf ? 'Undeafen (Ctrl+Shift+D)' : 'Deafen (Ctrl+Shift+D)'}
        onClick={() => store.rtc.setDeaf(!voice.selfDeaf)}
      >
        <Icon name={voice.selfDeaf ? 'headphonesOff' : 'headphones'} />
      </button>
      <button type="button" className="icon-button" aria-label="User settings" title="User settings" onClick={onOpenSettings}>
        <Icon name="gear" />
      </button>
    </section>
  );
}
