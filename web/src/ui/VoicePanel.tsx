import { userName } from '../state/state';
import { Icon } from './Dialog';
import { useAppState, useSettings, useStore, useVoice } from './hooks';
import { StreamControls } from './StreamStage';

// Shown while in (or joining) a voice channel: where we are, per-peer connection quality
// (RTT, jitter, loss from getStats), per-user volume, and Leave voice.
export function VoicePanel() {
  const store = useStore();
  const voice = useVoice();
  const settings = useSettings();
  const state = useAppState((s) => s);
  if (voice.status === 'idle' && !voice.error) return null;
  const channel = voice.channelId ? state.channels[voice.channelId] : null;
  const guild = voice.guildId ? state.guilds[voice.guildId] : channel ? state.guilds[channel.guild_id] : null;
  const peers = Object.values(voice.peers);
  const connectedCount = peers.filter((p) => p.connectionState === 'connected').length;
  const statusText =
    voice.status === 'joining'
      ? 'Connecting…'
      : voice.status === 'error'
        ? 'Voice error'
        : 'Voice connected';

  return (
    <section className="voice-panel" aria-label="Voice">
      <div className="voice-panel-head">
        <div className="voice-where">
          <p className={`voice-status ${voice.status}`} role="status">
            {statusText}
          </p>
          <p className="muted small">
            {channel?.name ?? ''}
            {guild ? ` / ${guild.name}` : ''} · {voice.mode.toUpperCase()}
            {peers.length > 0 && ` · ${connectedCount}/${peers.length} linked`}
          </p>
        </div>
        <button type="button" className="icon-button danger" aria-label="Leave voice" title="Leave voice" onClick={() => void store.rtc.leave()}>
          <Icon name="phoneOff" />
        </button>
      </div>
      {voice.error && (
        <p className="form-error small" role="alert">
          {voice.error}
        </p>
      )}
      {voice.micError && <p className="muted small">Microphone unavailable: listening only.</p>}
      <StreamControls />
      {peers.length > 0 && (
        <details className="peer-details" open>
          <summary>Connection details</summary>
          <ul className="peer-list" aria-label="Voice connections">
            {peers.map((p) => {
              const name = userName(state, p.userId);
              const s = p.stats;
              return (
                <li key={p.userId} className="peer" data-user-id={p.userId}>
                  <div className="peer-row">
                    <span className={`quality-dot ${p.quality}`} aria-hidden="true" />
                    <span className="peer-name">{name}</span>
                    <span className="muted small">{p.connectionState}</span>
                  </div>
                  <p className="muted small peer-stats" aria-label={`Connection quality with ${name}: ${p.quality}`}>
                    RTT {fmt(s?.rttMs)} ms · jitter {fmt(s?.jitterMs)} ms · loss {s ? (s.lossRate * 100).toFixed(1) : '–'}%
                    {s?.localCandidateType ? ` · ${s.localCandidateType}` : ''}
                  </p>
                  <label className="volume">
                    <span>Volume for {name}</span>
                    <input
                      type="range"
                      min={0}
                      max={100}
                      step={5}
                      value={settings.userVolumes[p.userId] ?? 100}
                      onChange={(e) => store.updateSettings({ userVolumes: { ...settings.userVolumes, [p.userId]: Number(e.target.value) } })}
                    />
                  </label>
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </section>
  );
}

function fmt(v: number | null | undefined) {
  return v === null || v === undefined ? '–' : Math.round(v).toString();
}
