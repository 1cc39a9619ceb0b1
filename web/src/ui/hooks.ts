import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Store } from '../state/store';
import type { AppState } from '../state/state';
import type { VoiceSnapshot } from '../rtc/rtcService';
import type { StreamSnapshot } from '../rtc/streamService';
import type { VoiceSettings } from '../settings/settings';

export const StoreContext = createContext<Store | null>(null);

export function useStore(): Store {
  const s = useContext(StoreContext);
  if (!s) throw new Error('StoreContext missing');
  return s;
}

/** Subscribes to a slice of the state; the selector must return stable references. */
export function useAppState<T>(select: (s: AppState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}

export function useVoice(): VoiceSnapshot {
  const store = useStore();
  return useSyncExternalStore(store.rtc.subscribe, store.rtc.getSnapshot);
}

export function useSettings(): VoiceSettings {
  const store = useStore();
  return useSyncExternalStore(store.subscribeSettings, store.getSettings);
}

export function useStreams(): StreamSnapshot {
  const store = useStore();
  return useSyncExternalStore(store.rtc.streams.subscribe, store.rtc.streams.getSnapshot);
}
