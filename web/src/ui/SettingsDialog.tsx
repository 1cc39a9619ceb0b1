import { useEffect, useRef, useState } from 'react';
import { LocalAudio } from '../rtc/localAudio';
import { keyLabel, type VoiceSettings } from '../settings/settings';
import { Dialog } from './Dialog';
import { useSettings, useStore, useVoice } from './hooks';

export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const s = useSettings();
  const voice = useVoice();
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [level, setLevel] = useState(0);
  const [capturing, setCapturing] = useState(false);
  const [micError, setMicError] = useState('');
  const testAudio = useRef<LocalAudio | null>(null);
  const set = (patch: Partial<VoiceSettings>) => store.updateSettings(patch);

  // Device list (labels appear once the microphone permission is granted).
  useEffect(() => {
    const md = navigator.mediaDevices;
    if (!md?.enumerateDevices) return;
    const load = () => md.enumerateDevices().then(setDevices, () => {});
    load();
    md.addEventListener?.('devicechange', load);
    return () => md.removeEventListener?.('devicechange', load);
  }, [capturing]);

  // Input level meter: from the call's pipeline when in voice, else from a test capture.
  useEffect(() => {
    let stop = false;
    let la: LocalAudio | null = null;
    if (voice.status !== 'connected') {
      la = new LocalAudio();
      testAudio.current = la;
      la.acquire(s).then(
        () => !stop && setCapturing(true),
        (e) => setMicError(e instanceof Error ? e.message : String(e)),
      );
    }
    const t = setInterval(() => setLevel(la ? la.level() : store.rtc.localLevel), 100);
    return () => {
      stop = true;
      clearInterval(t);
      la?.close();
      testAudio.current = null;
    };
  }, [voice.status, s.inputDeviceId, s.echoCancellation, s.noiseSuppression, s.autoGainControl]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    testAudio.current?.setGain(s.inputVolume);
  }, [s.inputVolume]);

  const inputs = devices.filter((d) => d.kind === 'audioinput');
  const outputs = devices.filter((d) => d.kind === 'audiooutput');
  const meter = Math.min(1, level * 4);
  const [capturingKey, setCapturingKey] = useState(false);

  return (
    <Dialog title="User settings" onClose={onClose} wide>
      <div className="settings">
        <section aria-labelledby="set-devices">
          <h3 id="set-devices">Voice</h3>
          <div className="field">
            <label htmlFor="set-input">Input device</label>
            <select id="set-input" value={s.inputDeviceId} onChange={(e) => set({ inputDeviceId: e.target.value })}>
              <option value="">System default</option>
              {inputs
                .filter((d) => d.deviceId && d.deviceId !== 'default')
                .map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || `Microphone ${i + 1}`}
                  </option>
                ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="set-output">Output device</label>
            <select id="set-output" value={s.outputDeviceId} onChange={(e) => set({ outputDeviceId: e.target.value })}>
              <option value="">System default</option>
              {outputs
                .filter((d) => d.deviceId && d.deviceId !== 'default')
                .map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || `Speaker ${i + 1}`}
                  </option>
                ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="set-volume">Input volume ({s.inputVolume}%)</label>
            <input id="set-volume" type="range" min={0} max={200} step={5} value={s.inputVolume} onChange={(e) => set({ inputVolume: Number(e.target.value) })} />
          </div>
          <div className="field">
            <span className="label" id="meter-label">
              Input level
            </span>
            <div className="meter" role="meter" aria-labelledby="meter-label" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(meter * 100)}>
              <div className="meter-fill" style={{ width: `${meter * 100}%` }} />
              {s.inputMode === 'voice_activity' && <div className="meter-threshold" style={{ left: `${Math.min(1, s.vadThreshold * 4) * 100}%` }} />}
            </div>
            {micError && (
              <p className="field-error" role="alert">
                Microphone unavailable: {micError}
              </p>
            )}
          </div>
        </section>
        <section aria-labelledby="set-mode">
          <h3 id="set-mode">Input mode</h3>
          <fieldset className="field">
            <legend className="sr-only">Input mode</legend>
            <label className="radio">
              <input type="radio" name="input-mode" checked={s.inputMode === 'voice_activity'} onChange={() => set({ inputMode: 'voice_activity' })} /> Voice activity
            </label>
            <label className="radio">
              <input type="radio" name="input-mode" checked={s.inputMode === 'push_to_talk'} onChange={() => set({ inputMode: 'push_to_talk' })} /> Push to talk
            </label>
          </fieldset>
          {s.inputMode === 'voice_activity' ? (
            <div className="field">
              <label htmlFor="set-vad">Voice activity sensitivity</label>
              <input id="set-vad" type="range" min={0.002} max={0.2} step={0.002} value={s.vadThreshold} onChange={(e) => set({ vadThreshold: Number(e.target.value) })} />
            </div>
          ) : (
            <div className="field">
              <span className="label" id="ptt-label">
                Push-to-talk key
              </span>
              <button
                type="button"
                className="secondary key-capture"
                aria-describedby="ptt-label"
                onClick={() => setCapturingKey(true)}
                onKeyDown={(e) => {
                  if (!capturingKey) return;
                  e.preventDefault();
                  if (e.code !== 'Escape') set({ pttKey: e.code });
                  setCapturingKey(false);
                }}
                onBlur={() => setCapturingKey(false)}
              >
                {capturingKey ? 'Press a key…' : `Set push-to-talk key (${keyLabel(s.pttKey)})`}
              </button>
            </div>
          )}
        </section>
        <section aria-labelledby="set-proc">
          <h3 id="set-proc">Audio processing</h3>
          <label className="check">
            <input type="checkbox" checked={s.echoCancellation} onChange={(e) => set({ echoCancellation: e.target.checked })} /> Echo cancellation
          </label>
          <label className="check">
            <input type="checkbox" checked={s.noiseSuppression} onChange={(e) => set({ noiseSuppression: e.target.checked })} /> Noise suppression
          </label>
          <label className="check">
            <input type="checkbox" checked={s.autoGainControl} onChange={(e) => set({ autoGainControl: e.target.checked })} /> Automatic gain control
          </label>
        </section>
        <section aria-labelledby="set-account">
          <h3 id="set-account">Account</h3>
          <div className="field">
            <label htmlFor="set-status">Status</label>
            <select id="set-status" defaultValue="online" onChange={(e) => store.setPresence(e.target.value as 'online' | 'idle' | 'dnd')}>
              <option value="online">Online</option>
              <option value="idle">Idle</option>
              <option value="dnd">Do not disturb</option>
            </select>
          </div>
          <button type="button" className="danger" onClick={() => void store.logout()}>
            Log out
          </button>
        </section>
      </div>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
