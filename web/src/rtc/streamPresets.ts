// Screen-share quality presets and content types, turned into what the browser needs:
// getDisplayMedia options, the captured track's contentHint, and the sender's encoding
// parameters. The bitrate is set explicitly (RTCRtpSender.setParameters): left alone,
// browsers cap screen content well below what 1080p needs.

export type StreamPresetId = '720p30' | '1080p30' | '1080p60';
/** 'game': motion matters more than detail; 'text': sharp detail, the frame rate may drop. */
export type StreamContent = 'game' | 'text';

export interface StreamPreset {
  id: StreamPresetId;
  label: string;
  width: number;
  height: number;
  frameRate: number;
  /** bits per second */
  maxBitrate: number;
}

export const STREAM_PRESETS: readonly StreamPreset[] = [
  { id: '720p30', label: '720p30', width: 1280, height: 720, frameRate: 30, maxBitrate: 2_500_000 },
  { id: '1080p30', label: '1080p30', width: 1920, height: 1080, frameRate: 30, maxBitrate: 6_000_000 },
  { id: '1080p60', label: '1080p60', width: 1920, height: 1080, frameRate: 60, maxBitrate: 8_000_000 },
];

export const DEFAULT_PRESET: StreamPresetId = '1080p30';
export const DEFAULT_CONTENT: StreamContent = 'game';

export const STREAM_CONTENTS: readonly { id: StreamContent; label: string }[] = [
  { id: 'game', label: 'Game' },
  { id: 'text', label: 'Text' },
];

export function preset(id: string | undefined): StreamPreset {
  return STREAM_PRESETS.find((p) => p.id === id) ?? STREAM_PRESETS.find((p) => p.id === DEFAULT_PRESET)!;
}

export function isPresetId(id: string): id is StreamPresetId {
  return STREAM_PRESETS.some((p) => p.id === id);
}

export function isContent(c: string): c is StreamContent {
  return c === 'game' || c === 'text';
}

export interface ContentSettings {
  contentHint: 'motion' | 'detail';
  degradationPreference: RTCDegradationPreference;
}

export function contentSettings(content: StreamContent): ContentSettings {
  return content === 'text'
    ? { contentHint: 'detail', degradationPreference: 'maintain-resolution' }
    : { contentHint: 'motion', degradationPreference: 'maintain-framerate' };
}

/** Video constraints for the capture (getDisplayMedia, and applyConstraints on a change). */
export function videoConstraints(p: StreamPreset): MediaTrackConstraints {
  return {
    width: { ideal: p.width, max: p.width },
    height: { ideal: p.height, max: p.height },
    frameRate: { ideal: p.frameRate, max: p.frameRate },
  };
}

/**
 * getDisplayMedia options. Audio is asked for (a tab's audio, or the system's where the
 * browser offers it); the browser may give none, which is fine.
 */
export function displayMediaOptions(p: StreamPreset, audio = true): DisplayMediaStreamOptions {
  const o: DisplayMediaStreamOptions & Record<string, unknown> = {
    video: videoConstraints(p),
    audio: audio ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : false,
    // Chromium: include system audio when sharing a screen, never offer our own tab.
    systemAudio: audio ? 'include' : 'exclude',
    selfBrowserSurface: 'exclude',
    surfaceSwitching: 'include',
  };
  return o;
}

/** One encoding's limits for the preset. */
export function encodingLimits(p: StreamPreset): { maxBitrate: number; maxFramerate: number } {
  return { maxBitrate: p.maxBitrate, maxFramerate: p.frameRate };
}

/** One simulcast layer: its rid and what it is limited to. */
export interface SimulcastLayer {
  rid: string;
  scaleResolutionDownBy: number;
  maxBitrate: number;
  maxFramerate: number;
}

/** The rids of the three layers, lowest quality first (the order the SFU reads them in). */
export const SIMULCAST_RIDS = ['q', 'h', 'f'] as const;

/**
 * The screen share's simulcast layers for a preset, lowest first: the SFU forwards each viewer
 * the layer its downlink carries. 1080p presets: 360p15 (0.5 Mbit/s), 720p30 (2.5 Mbit/s) and
 * the preset itself; 720p30: 180p15 (0.2 Mbit/s), 360p30 (0.8 Mbit/s) and 720p30. Always three
 * layers, so a preset change while sharing keeps the sender's encodings (setParameters cannot
 * add or remove one).
 */
export function simulcastLayers(p: StreamPreset): SimulcastLayer[] {
  const big = p.height >= 1080;
  const scales = big ? [3, 1.5, 1] : [4, 2, 1];
  const rates = big ? [500_000, 2_500_000, p.maxBitrate] : [200_000, 800_000, p.maxBitrate];
  const fps = [Math.min(15, p.frameRate), Math.min(30, p.frameRate), p.frameRate];
  return SIMULCAST_RIDS.map((rid, i) => ({ rid, scaleResolutionDownBy: scales[i], maxBitrate: rates[i], maxFramerate: fps[i] }));
}

/** Which simulcast layers (by rid) the SFU wants encoded (its `layers` op); a rid not named runs. */
export type LayerFlags = Readonly<Record<string, boolean>>;

/**
 * The sender's parameters with the preset's limits on every encoding (each simulcast layer's
 * own, matched by rid) and the content's degradation preference; everything else
 * (transactionId, codecs, rids) is kept, as setParameters requires. With `active`, each rid
 * layer's `active` flag is the SFU's (true where it names none: a new share runs every
 * layer); without it, `active` is kept as well.
 */
export function sendParameters(current: RTCRtpSendParameters, p: StreamPreset, content: StreamContent, active?: LayerFlags): RTCRtpSendParameters {
  const limits = encodingLimits(p);
  const layers = simulcastLayers(p);
  const encodings = current.encodings?.length ? current.encodings : [{}];
  return {
    ...current,
    encodings: encodings.map((e) => {
      const layer = e.rid ? layers.find((l) => l.rid === e.rid) : undefined;
      if (!layer) return { ...e, ...limits, scaleResolutionDownBy: 1 };
      const { rid: _rid, ...rest } = layer;
      return active ? { ...e, ...rest, active: active[layer.rid] ?? true } : { ...e, ...rest };
    }),
    degradationPreference: contentSettings(content).degradationPreference,
  } as RTCRtpSendParameters;
}

/**
 * The flags of a `layers` op's `active` object (rid -> boolean); null when it is malformed.
 * The lowest layer is never paused by us: a flag saying so is ignored (a picture for new
 * watchers does not depend on the SFU being right).
 */
export function parseLayerFlags(d: unknown): Record<string, boolean> | null {
  if (!d || typeof d !== 'object' || Array.isArray(d)) return null;
  const out: Record<string, boolean> = {};
  for (const [rid, on] of Object.entries(d as Record<string, unknown>)) {
    if (typeof on !== 'boolean') return null;
    out[rid] = on;
  }
  if (out[SIMULCAST_RIDS[0]] === false) out[SIMULCAST_RIDS[0]] = true;
  return out;
}

/** Bits per second for stream audio (stereo music/game sound, not voice). */
export const STREAM_AUDIO_BITRATE = 128_000;
