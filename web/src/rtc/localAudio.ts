// The microphone pipeline: getUserMedia (with the user's device and processing toggles) ->
// gain (input volume) -> analyser (level meter, voice activity) -> the track sent to peers.
// Transmission is gated by mute, push-to-talk or voice activity by enabling the sent track
// (a disabled track sends silence, which Opus DTX shrinks to a packet every 400 ms).
import { audioConstraints, type VoiceSettings } from '../settings/settings';
import { rmsLevel } from './audioLevel';

export class LocalAudio {
  private ctx: AudioContext | null = null;
  private raw: MediaStream | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private gain: GainNode | null = null;
  private analyser: AnalyserNode | null = null;
  private dest: MediaStreamAudioDestinationNode | null = null;
  private buf: Float32Array<ArrayBuffer> | null = null;
  private acquiredWith = '';

  get track(): MediaStreamTrack | null {
    return this.dest?.stream.getAudioTracks()[0] ?? null;
  }

  get stream(): MediaStream | null {
    return this.dest?.stream ?? null;
  }

  /** Opens (or reopens, when device or processing changed) the microphone. Returns true if the sent track changed. */
  async acquire(s: VoiceSettings): Promise<boolean> {
    const key = JSON.stringify(audioConstraints(s));
    if (this.raw && key === this.acquiredWith) {
      this.setGain(s.inputVolume);
      return false;
    }
    const raw = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(s), video: false });
    this.stopRaw();
    this.raw = raw;
    this.acquiredWith = key;
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: 'interactive' });
      this.gain = this.ctx.createGain();
      this.analyser = this.ctx.createAnalyser();
      // A window longer than the 100 ms polling interval, so short sounds are never missed.
      this.analyser.fftSize = 8192;
      this.dest = this.ctx.createMediaStreamDestination();
      this.gain.connect(this.analyser);
      this.gain.connect(this.dest);
      this.buf = new Float32Array(new ArrayBuffer(this.analyser.fftSize * 4));
    }
    if (this.ctx.state === 'suspended') await this.ctx.resume().catch(() => {});
    this.source = this.ctx.createMediaStreamSource(raw);
    this.source.connect(this.gain!);
    this.setGain(s.inputVolume);
    return false; // the destination track stays the same across device changes
  }

  setGain(percent: number) {
    if (this.gain) this.gain.gain.value = Math.max(0, percent) / 100;
  }

  setTransmit(on: boolean) {
    const t = this.track;
    if (t && t.enabled !== on) t.enabled = on;
  }

  /** RMS level of the last analyser window, 0..1. */
  level(): number {
    if (!this.analyser || !this.buf) return 0;
    this.analyser.getFloatTimeDomainData(this.buf);
    return rmsLevel(this.buf);
  }

  private stopRaw() {
    this.source?.disconnect();
    this.source = null;
    this.raw?.getTracks().forEach((t) => t.stop());
    this.raw = null;
  }

  close() {
    this.stopRaw();
    this.dest?.stream.getTracks().forEach((t) => t.stop());
    void this.ctx?.close().catch(() => {});
    this.ctx = null;
    this.gain = this.analyser = this.dest = null;
    this.acquiredWith = '';
  }
}
