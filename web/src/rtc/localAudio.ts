// The microphone pipeline: getUserMedia (with the user's device and processing toggles) ->
// gain (input volume) -> analyser (level meter, voice activity) -> the track sent to peers.
// At an input volume of 100 % the gain does nothing, so peers get a clone of the
// microphone's own track instead of the graph's output: the trip into WebAudio and back out
// through a MediaStreamDestination costs ~20 ms of mouth-to-ear delay in Chromium
// (bench/voice/m2e_floor.mjs, docs/benchmarks.md). The analyser still listens to the graph.
// Transmission is gated by mute, push-to-talk or voice activity by enabling the sent track
// (a disabled track sends silence, which Opus DTX shrinks to a packet every 400 ms); the
// analysed track stays enabled, so voice activity is still heard while the gate is shut.
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
  /** A clone of the microphone's track, sent as it is while the input volume is 100 %. */
  private direct: { track: MediaStreamTrack; stream: MediaStream } | null = null;
  private transmit = true;

  /** The track to send: the microphone's own (a clone) at 100 % input volume, else the graph's output. */
  get track(): MediaStreamTrack | null {
    return this.direct?.track ?? this.dest?.stream.getAudioTracks()[0] ?? null;
  }

  get stream(): MediaStream | null {
    return this.direct?.stream ?? this.dest?.stream ?? null;
  }

  /** Opens (or reopens, when device or processing changed) the microphone. Returns true if the sent track changed. */
  async acquire(s: VoiceSettings): Promise<boolean> {
    const before = this.track;
    const key = JSON.stringify(audioConstraints(s));
    if (this.raw && key === this.acquiredWith) {
      this.setGain(s.inputVolume);
      return this.track !== before;
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
    // The graph's track stays the same across device changes; a direct one does not.
    return this.track !== before;
  }

  /** Input volume in percent; 100 sends the microphone's track directly (see the top). */
  setGain(percent: number) {
    if (this.gain) this.gain.gain.value = Math.max(0, percent) / 100;
    const mic = this.raw?.getAudioTracks()[0];
    if (mic && percent === 100) {
      if (!this.direct) {
        const track = mic.clone();
        track.enabled = this.transmit;
        this.direct = { track, stream: new MediaStream([track]) };
      }
    } else this.stopDirect();
  }

  setTransmit(on: boolean) {
    this.transmit = on;
    for (const t of [this.direct?.track, this.dest?.stream.getAudioTracks()[0]]) if (t && t.enabled !== on) t.enabled = on;
  }

  /** RMS level of the last analyser window, 0..1. */
  level(): number {
    if (!this.analyser || !this.buf) return 0;
    this.analyser.getFloatTimeDomainData(this.buf);
    return rmsLevel(this.buf);
  }

  private stopDirect() {
    this.direct?.track.stop();
    this.direct = null;
  }

  private stopRaw() {
    this.stopDirect();
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
    this.transmit = true;
  }
}
