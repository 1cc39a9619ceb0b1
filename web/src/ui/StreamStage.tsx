import { useEffect, useMemo, useRef } from 'react';
import { hasPermission, Permission } from '../api/types';
import { reconcileStreams, type StreamTile } from '../rtc/streamList';
import { isContent, isPresetId, STREAM_CONTENTS, STREAM_PRESETS } from '../rtc/streamPresets';
import type { StreamSnapshot } from '../rtc/streamService';
import { userName, voiceMembers, type AppState } from '../state/state';
import { useAppState, useStore, useStreams, useVoice } from './hooks';

// Screen share in the UI: the share controls of the voice panel (quality preset, content
// type, Share screen / Stop sharing) and the stage of stream tiles above the chat (LIVE,
// viewers, Watch stream / Stop watching, Fullscreen, Stream volume).

/** The streams of the channel we are in voice in, reconciled from every source. */
export function useStreamTiles(): StreamTile[] {
  const voice = useVoice();
  const streams = useStreams();
  const state = useAppState((s) => s);
  const channelId = voice.status === 'connected' ? voice.channelId : null;
  return useMemo(
    () =>
      reconcileStreams({
        channelId,
        myId: state.me?.id ?? null,
        goneLive: channelId ? voiceMembers(state, channelId).filter((v) => v.self_stream).map((v) => v.user_id) : [],
        gateway: streams.gateway,
        sfu: streams.sfuLive,
        sharing: streams.share !== 'idle',
        watching: streams.watching,
      }),
    [channelId, state, streams],
  );
}

/** Users live in a channel (sidebar badge): voice states with `self_stream`, or STREAM_UPDATE. */
export function liveUsers(state: AppState, streams: StreamSnapshot, channelId: string): Set<string> {
  const out = new Set<string>();
  for (const v of voiceMembers(state, channelId)) if (v.self_stream) out.add(v.user_id);
  for (const [uid, g] of Object.entries(streams.gateway)) if (g.live && g.channelId === channelId) out.add(uid);
  return out;
}

export function StreamControls() {
  const store = useStore();
  const voice = useVoice();
  const s = useStreams();
  const state = useAppState((st) => st);
  if (voice.status !== 'connected') return null;
  const guild = voice.guildId ? state.guilds[voice.guildId] : null;
  const canStream = hasPermission(guild?.my_permissions, Permission.STREAM);
  const svc = store.rtc.streams;
  return (
    <div className="stream-controls" role="group" aria-label="Screen share">
      <div className="stream-options">
        <label className="stream-option">
          <span>Stream quality</span>
          <select value={s.preset} onChange={(e) => isPresetId(e.target.value) && void svc.setPreset(e.target.value)}>
            {STREAM_PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label className="stream-option">
          <span>Content type</span>
          <select value={s.content} onChange={(e) => isContent(e.target.value) && void svc.setContent(e.target.value)}>
            {STREAM_CONTENTS.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {s.share === 'idle' ? (
        <button type="button" className="primary share-button" onClick={() => void svc.startShare()} title={canStream ? 'Share your screen with the channel' : 'You need the Stream permission'}>
          Share screen
        </button>
      ) : (
        <button type="button" className="danger share-button" onClick={() => void svc.stopShare()} aria-busy={s.share === 'starting'}>
          Stop sharing
        </button>
      )}
      {s.share === 'sharing' && (
        <p className="muted small" role="status">
          You are live{s.localAudio ? ' with audio' : ''}.
        </p>
      )}
      {s.error && (
        <p className="form-error small stream-error" role="alert">
          {s.error}
        </p>
      )}
    </div>
  );
}

export function StreamStage() {
  const tiles = useStreamTiles();
  if (tiles.length === 0) return null;
  return (
    <section className="stream-stage" aria-label="Streams">
      <ul className="stream-tiles" role="list">
        {tiles.map((t) => (
          <StreamTileView key={t.userId} tile={t} />
        ))}
      </ul>
    </section>
  );
}

function StreamTileView({ tile }: { tile: StreamTile }) {
  const store = useStore();
  const voice = useVoice();
  const s = useStreams();
  const state = useAppState((st) => st);
  const box = useRef<HTMLDivElement>(null);
  const name = userName(state, tile.userId, voice.guildId);
  const svc = store.rtc.streams;
  const media = tile.self ? s.local : (s.media[tile.userId] ?? null);
  const hasAudio = !tile.self && !!media && media.getAudioTracks().length > 0;
  const volume = s.volumes[tile.userId] ?? 100;
  const viewers = tile.viewerIds.map((id) => userName(state, id, voice.guildId));
  const fullscreen = () => {
    const el = box.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else void el.requestFullscreen?.().catch(() => {});
  };
  return (
    <li className={`stream-tile${tile.self ? ' self' : ''}`} data-user-id={tile.userId} aria-label={tile.self ? 'Your stream' : `Stream of ${name}`}>
      <div className="stream-head">
        <span className="stream-name">{tile.self ? 'Your stream' : name}</span>
        {tile.live && (
          <span className="live-badge" aria-label="live">
            LIVE
          </span>
        )}
        <span className="muted small viewer-count" aria-label={`${tile.viewerCount} watching`}>
          {tile.viewerCount} watching
        </span>
      </div>
      <div className="stream-video" ref={box}>
        {media ? (
          <StreamVideo stream={media} muted={tile.self || voice.selfDeaf} volume={volume} label={tile.self ? 'Your screen' : `Screen of ${name}`} />
        ) : (
          <p className="muted stream-placeholder">{tile.live ? `${name} is live` : 'Starting…'}</p>
        )}
      </div>
      <div className="stream-actions">
        {!tile.self &&
          (tile.watching ? (
            <button type="button" className="secondary" onClick={() => svc.unwatch(tile.userId)}>
              Stop watching
            </button>
          ) : (
            <button type="button" className="primary" disabled={!tile.live} onClick={() => svc.watch(tile.userId)}>
              Watch stream
            </button>
          ))}
        {media && (
          <button type="button" className="secondary" onClick={fullscreen}>
            Fullscreen
          </button>
        )}
        {hasAudio && (
          <label className="volume stream-volume">
            <input type="range" min={0} max={100} step={5} value={volume} aria-label="Stream volume" onChange={(e) => svc.setVolume(tile.userId, Number(e.target.value))} />
          </label>
        )}
      </div>
      {tile.self && (
        <p className="muted small stream-viewers" aria-live="polite">
          {viewers.length ? `Watching: ${viewers.join(', ')}` : 'Nobody is watching yet.'}
        </p>
      )}
    </li>
  );
}

function StreamVideo({ stream, muted, volume, label }: { stream: MediaStream; muted: boolean; volume: number; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v || v.srcObject === stream) return;
    v.srcObject = stream;
    void v.play().catch(() => {});
  }, [stream]);
  useEffect(() => {
    if (ref.current) ref.current.volume = Math.min(1, Math.max(0, volume / 100));
  }, [volume]);
  return <video ref={ref} autoPlay playsInline muted={muted} aria-label={label} />;
}
