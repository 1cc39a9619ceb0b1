import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalAudio } from './localAudio';
import { DEFAULT_SETTINGS, type VoiceSettings } from '../settings/settings';

// Minimal stand-ins for the browser's media objects (vitest runs in node).
class FakeTrack {
  kind = 'audio';
  enabled = true;
  stopped = false;
  constructor(readonly label: string) {}
  clone() {
    return new FakeTrack(this.label + '+clone');
  }
  stop() {
    this.stopped = true;
  }
}
class FakeStream {
  constructor(private readonly tracks: FakeTrack[]) {}
  getAudioTracks() {
    return this.tracks;
  }
  getTracks() {
    return this.tracks;
  }
}
const node = () => ({ connect: vi.fn(), disconnect: vi.fn() });
class FakeContext {
  state = 'running';
  createGain() {
    return { ...node(), gain: { value: 1 } };
  }
  createAnalyser() {
    return { ...node(), fftSize: 2048, getFloatTimeDomainData: vi.fn() };
  }
  createMediaStreamDestination() {
    return { ...node(), stream: new FakeStream([new FakeTrack('graph')]) };
  }
  createMediaStreamSource() {
    return node();
  }
  resume() {
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

let mics: FakeTrack[];
beforeEach(() => {
  mics = [];
  vi.stubGlobal('AudioContext', FakeContext);
  vi.stubGlobal('MediaStream', FakeStream);
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: vi.fn(async () => {
        const t = new FakeTrack(`mic${mics.length}`);
        mics.push(t);
        return new FakeStream([t]);
      }),
    },
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const settings = (over: Partial<VoiceSettings> = {}): VoiceSettings => ({ ...DEFAULT_SETTINGS, ...over });
const label = (t: MediaStreamTrack | null) => (t as unknown as FakeTrack | null)?.label;

describe('LocalAudio', () => {
  it('sends a clone of the microphone track itself at 100 % input volume, not the graph output', async () => {
    const a = new LocalAudio();
    await a.acquire(settings({ inputVolume: 100 }));
    expect(label(a.track)).toBe('mic0+clone');
    expect(a.stream?.getAudioTracks()[0]).toBe(a.track);
  });

  it('sends the graph output when the gain changes the signal, and switches back', async () => {
    const a = new LocalAudio();
    expect(await a.acquire(settings({ inputVolume: 150 }))).toBe(true);
    expect(label(a.track)).toBe('graph');
    const graph = a.track;
    expect(await a.acquire(settings({ inputVolume: 100 }))).toBe(true);
    const direct = a.track as unknown as FakeTrack;
    expect(direct.label).toBe('mic0+clone');
    expect(await a.acquire(settings({ inputVolume: 100 }))).toBe(false);
    expect(await a.acquire(settings({ inputVolume: 80 }))).toBe(true);
    expect(a.track).toBe(graph);
    expect(direct.stopped).toBe(true);
    expect(mics[0].stopped).toBe(false);
  });

  it('gates the sent track and leaves the analysed microphone track enabled', async () => {
    const a = new LocalAudio();
    await a.acquire(settings({ inputVolume: 100 }));
    a.setTransmit(false);
    expect(a.track?.enabled).toBe(false);
    expect(mics[0].enabled).toBe(true);
    // A track made while the gate is shut starts shut.
    await a.acquire(settings({ inputVolume: 50 }));
    expect(a.track?.enabled).toBe(false);
    await a.acquire(settings({ inputVolume: 100 }));
    expect(a.track?.enabled).toBe(false);
    a.setTransmit(true);
    expect(a.track?.enabled).toBe(true);
  });

  it('a new device gives a new direct track and stops the old one', async () => {
    const a = new LocalAudio();
    await a.acquire(settings({ inputVolume: 100 }));
    const first = a.track as unknown as FakeTrack;
    expect(await a.acquire(settings({ inputVolume: 100, inputDeviceId: 'other' }))).toBe(true);
    expect(label(a.track)).toBe('mic1+clone');
    expect(first.stopped).toBe(true);
    expect(mics[0].stopped).toBe(true);
    a.close();
    expect((a.track as unknown as FakeTrack | null) ?? null).toBeNull();
    expect(mics[1].stopped).toBe(true);
  });
});
