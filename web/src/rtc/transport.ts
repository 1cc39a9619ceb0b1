// What the voice UI needs from a voice transport. 'p2p' (a mesh of RTCPeerConnections,
// signaled through the gateway) and 'sfu' (one RTCPeerConnection to our SFU, signaled over
// its /voice WebSocket) implement it, so RtcService and the UI stay the same in both modes.
import type { VoiceJoinAnswer, VoiceState } from '../api/types';
import type { KeyedStats, QualityReportPayload } from './qualityReport';
import type { InboundAudio, PeerStats } from './stats';

export type VoiceMode = 'p2p' | 'sfu';

/**
 * What a published track carries. A transport sends at most one track per source. The
 * microphone's section is negotiated at join; other sources add a section when first
 * published (a renegotiation). Camera and screen video join this union with video.
 */
export type TrackSource = 'mic' | 'screen_audio';

export interface PeerInfo {
  userId: string;
  connectionState: RTCPeerConnectionState | 'new';
  polite?: boolean;
  iceRestarts: number;
  stats: PeerStats | null;
}

export type { InboundAudio } from './stats';

export interface TransportContext {
  myId: string;
  join: VoiceJoinAnswer;
  forceRelay: boolean;
  /** The microphone at join (null: listen-only). Later changes go through publish('mic'). */
  localTrack: MediaStreamTrack | null;
  localStream: MediaStream | null;
  sendSignal: (to: string, payload: unknown) => void;
  onChange: () => void;
  log: (msg: string, e?: unknown) => void;
  /** The transport cannot continue (e.g. the SFU signaling connection was lost): rejoin. */
  onFailed?: (reason: string) => void;
  /** The server ended our voice session for good (we left, were removed from the guild or
   * channel, or lost a permission): do not rejoin. */
  onEnded?: (reason: string) => void;
  /** The SFU node says our channel moved to another node (it drains): `server_update`. */
  onServerUpdate?: (d: { channel_id?: string; sfu?: { id?: string } }) => void;
  /** The SFU node says the cluster lost our voice state (`state_lost`): write it back. */
  onStateLost?: (d: { channel_id: string; session: string }) => void;
}

export interface VoiceTransport {
  readonly mode: VoiceMode;
  /** Connects to the participants listed at join. */
  start(): void;
  /** Another user's voice state changed (joined, left, moved, muted). */
  voiceState(vs: VoiceState): void;
  /** A VOICE_SIGNAL addressed to us. */
  signal(from: string, payload: unknown): void;
  /**
   * Sends `track` as `source`, replacing what that source sent before (a microphone device
   * change swaps the track without renegotiation). null keeps the source's section but
   * sends nothing. Listen-only joins (no microphone at join) stay listen-only for 'mic'.
   */
  publish(source: TrackSource, track: MediaStreamTrack | null): Promise<void>;
  /** Stops sending `source` (the microphone's section stays, silent; other sections go). */
  unpublish(source: TrackSource): Promise<void>;
  setPlayback(volumes: Record<string, number>, deafened: boolean, sinkId: string): void;
  /** Audio level per remote user since the last call, 0..1 (called a few times a second). */
  levels(): Promise<Record<string, number>>;
  peers(): PeerInfo[];
  refreshStats(): Promise<void>;
  /** Inbound audio counters per remote user (sum over that user's receivers). */
  inbound(): Promise<Record<string, InboundAudio>>;
  /** Plays remote audio (true) or keeps it silent while still receiving (a mode switch). */
  setAudible(on: boolean): void;
  /** Media can flow: the SFU connection is up / the mesh has no peer still connecting. */
  mediaReady(): boolean;
  /** Raw getStats of each connection, keyed (P2P: the peer's user id), for quality reports. */
  qualityStats?(): Promise<KeyedStats[]>;
  /** Sends a quality report on the transport's own signaling (SFU: /voice); absent: the gateway. */
  sendQuality?(report: QualityReportPayload): void;
  close(): void;
}
