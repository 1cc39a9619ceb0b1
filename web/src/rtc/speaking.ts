// Who is speaking, from audio levels sampled a few times a second: ours from the microphone
// analyser, everyone else's from the transport (getStats energy, SFU speaking hints). Kept
// apart from RtcService so the rules (thresholds, hold time, muted users never shown) are
// testable without a browser. Also the voice activity gate: it opens on the same samples.
import { LOCAL_SPEAK_FLOOR, REMOTE_SPEAK_THRESHOLD } from './audioLevel';

/** A speaker stays shown (and the voice activity gate open) this long after the last loud sample. */
export const SPEAK_HOLD_MS = 400;

export interface SpeakingInput {
  myId: string;
  /** Whether our microphone is sent right now (muted, push-to-talk released or gate closed: no). */
  transmitting: boolean;
  localLevel: number;
  /** The user's voice activity threshold (settings). */
  vadThreshold: number;
  /** Remote levels of the users the transport carries (0..1). */
  remote: Record<string, number>;
  /** A user known to be self-muted is never shown speaking (a stale level must not light them). */
  muted: (userId: string) => boolean;
}

export class SpeakingDetector {
  private lastLoud: Record<string, number> = {};
  private gateOpenUntil = 0;

  /** Feeds our microphone level to the voice activity gate (before transmit is decided). */
  hearLocal(level: number, vadThreshold: number, now: number) {
    if (level >= vadThreshold) this.gateOpenUntil = now + SPEAK_HOLD_MS;
  }

  /** Voice activity: the microphone was loud within the hold time. */
  gateOpen(now: number): boolean {
    return now < this.gateOpenUntil;
  }

  /** The set of users speaking now (only `true` entries), ourselves included. */
  update(now: number, i: SpeakingInput): Record<string, boolean> {
    if (i.transmitting && i.localLevel >= Math.max(i.vadThreshold, LOCAL_SPEAK_FLOOR)) this.lastLoud[i.myId] = now;
    for (const [uid, lvl] of Object.entries(i.remote)) {
      if (lvl >= REMOTE_SPEAK_THRESHOLD && !i.muted(uid)) this.lastLoud[uid] = now;
    }
    const speaking: Record<string, boolean> = {};
    for (const [uid, t] of Object.entries(this.lastLoud)) {
      // Someone the transport no longer carries (left, or moved out of a last-N slot) stops at once.
      if (now - t < SPEAK_HOLD_MS && (uid === i.myId ? i.transmitting : uid in i.remote)) speaking[uid] = true;
    }
    return speaking;
  }

  /** A user muted themselves: forget their last loud sample. */
  silence(userId: string) {
    delete this.lastLoud[userId];
  }

  /** A new call (the voice activity gate keeps its state, as the microphone does). */
  reset() {
    this.lastLoud = {};
  }
}

/** Two speaking sets name the same users. */
export function sameSpeakers(a: Record<string, boolean>, b: Record<string, boolean>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => b[k]);
}

/**
 * Remote levels come from getStats, which costs more than reading the analyser: they are
 * polled every `every`-th tick, one poll at a time, and a poll that finishes after its
 * transport was replaced (a mode switch, a rejoin) is dropped.
 */
export class RemoteLevels {
  levels: Record<string, number> = {};
  private ticks = 0;
  private inFlight = false;

  constructor(private readonly every = 2) {}

  tick(source: { levels(): Promise<Record<string, number>> }, stillCurrent: () => boolean) {
    if (++this.ticks % this.every !== 0 || this.inFlight) return;
    this.inFlight = true;
    source
      .levels()
      .then((l) => {
        if (stillCurrent()) this.levels = l;
      })
      .finally(() => (this.inFlight = false));
  }

  reset() {
    this.levels = {};
  }
}
