// Voice and audio preferences, persisted in localStorage under 'hype.settings'.
export type InputMode = 'voice_activity' | 'push_to_talk';

export interface VoiceSettings {
  inputDeviceId: string; // '' = system default
  outputDeviceId: string;
  inputVolume: number; // 0..200 (%)
  inputMode: InputMode;
  pttKey: string; // KeyboardEvent.code, e.g. 'Space', 'KeyV'
  /** Voice activity threshold, 0..1 of the meter. */
  vadThreshold: number;
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  /** user id -> playback volume 0..200 (%) */
  userVolumes: Record<string, number>;
}

export const DEFAULT_SETTINGS: VoiceSettings = {
  inputDeviceId: '',
  outputDeviceId: '',
  inputVolume: 100,
  inputMode: 'voice_activity',
  pttKey: 'KeyV',
  vadThreshold: 0.02,
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  userVolumes: {},
};

const KEY = 'hype.settings';

export function loadSettings(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): VoiceSettings {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return { ...DEFAULT_SETTINGS };
    const parsed = JSON.parse(raw) as Partial<VoiceSettings>;
    return { ...DEFAULT_SETTINGS, ...parsed, userVolumes: { ...(parsed.userVolumes ?? {}) } };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s: VoiceSettings, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null) {
  try {
    storage?.setItem(KEY, JSON.stringify(s));
  } catch {
    /* private mode: keep in memory */
  }
}

export function audioConstraints(s: VoiceSettings): MediaTrackConstraints {
  return {
    deviceId: s.inputDeviceId ? { exact: s.inputDeviceId } : undefined,
    echoCancellation: s.echoCancellation,
    noiseSuppression: s.noiseSuppression,
    autoGainControl: s.autoGainControl,
    channelCount: 1,
  };
}

export function keyLabel(code: string): string {
  if (code.startsWith('Key')) return code.slice(3);
  if (code.startsWith('Digit')) return code.slice(5);
  return code.replace(/(Left|Right)$/, ' $1');
}
