// The one place audio levels are computed, so the microphone meter, the remote speaking
// indicators and the voice activity gate all measure the same thing: RMS amplitude, 0..1
// (1 = full scale). Local audio is measured on analyser samples; remote audio on the
// receiver's getStats counters, which the browser keeps for every decoded sample.

/** RMS of PCM samples in -1..1 (an AnalyserNode's time-domain window). */
export function rmsLevel(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / samples.length);
}

/** The energy counters of inbound audio in one receiver's stats report. */
export interface InboundEnergy {
  /** totalAudioEnergy: sum of (level^2 * duration) over every decoded sample. */
  energy: number;
  /** totalSamplesDuration, seconds. */
  duration: number;
  /** audioLevel: the level right now (a short window). */
  instant: number;
}

type ReportLike = { forEach(cb: (s: any) => void): void };

/** Reads the inbound-rtp energy counters (the last inbound-rtp entry wins, as a receiver has one). */
export function readInboundEnergy(report: ReportLike): InboundEnergy {
  const out: InboundEnergy = { energy: 0, duration: 0, instant: 0 };
  report.forEach((s: any) => {
    if (s.type === 'inbound-rtp') {
      out.energy = s.totalAudioEnergy ?? 0;
      out.duration = s.totalSamplesDuration ?? 0;
      out.instant = s.audioLevel ?? 0;
    }
  });
  return out;
}

/**
 * The level of one remote stream between two reads, from totalAudioEnergy and
 * totalSamplesDuration: it covers the whole interval, so a short sound between two polls
 * still counts (audioLevel alone would miss it). One per receiver: the counters are
 * cumulative, so the meter must be reset when its receiver starts carrying someone else.
 */
export class EnergyMeter {
  private prev: { e: number; d: number } | null = null;

  /** Level since the previous call, 0..1. The first call has no interval: it uses audioLevel. */
  update(c: InboundEnergy): number {
    const prev = this.prev;
    this.prev = { e: c.energy, d: c.duration };
    if (!prev) return c.instant;
    if (c.duration <= prev.d) return 0; // no new samples (DTX, or nothing decoded)
    return Math.sqrt(Math.max(0, c.energy - prev.e) / (c.duration - prev.d));
  }

  reset() {
    this.prev = null;
  }
}

/** A remote user counts as speaking at or above this level (the local gate uses the user's setting). */
export const REMOTE_SPEAK_THRESHOLD = 0.02;
/** Our own speaking indicator never lights below this level, whatever the voice activity threshold. */
export const LOCAL_SPEAK_FLOOR = 0.005;
/**
 * The level reported for a user the SFU says is speaking (from the sender's RFC 6464 level
 * header) when we do not decode their audio ourselves: anything above REMOTE_SPEAK_THRESHOLD.
 */
export const SPEAKING_HINT_LEVEL = 0.05;
