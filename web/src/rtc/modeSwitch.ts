// Mode switch, make before break (docs/protocol.md, "Voice mode"). The server announces a
// channel's new mode with VOICE_MODE_UPDATE. We then build the new transport beside the old
// one (its audio silent), wait until it carries the people we hear on the old one (or a
// deadline), make it the audible one, and close the old one a little later, so peers that
// switch after us keep hearing us through it meanwhile.
//
// The switcher owns the transports on either side of the current one (the pending one and
// the lingering ones); RtcService owns the current one and is told when to adopt another.
import type { VoiceJoinAnswer } from '../api/types';
import type { InboundAudio, VoiceMode, VoiceTransport } from './transport';

export const SWITCH_TIMING = {
  /** How often we compare the old and new transport's inbound audio. */
  pollMs: 100,
  /** We cut over at the latest after this long, audio or not. */
  deadlineMs: 8000,
  /** How long the old transport keeps sending after the cut-over. */
  lingerMs: 4000,
  /** Wait before trying a failed switch again. */
  retryMs: 2000,
  /**
   * A user counts as heard on a transport if its packet counter grew this recently: one poll
   * interval alone can see no packet from someone who talks (a busy page polls late and
   * twice in a row; stats are cached), which read as "nobody to wait for".
   */
  heardWindowMs: 500,
};
export type SwitchTiming = typeof SWITCH_TIMING;

const SWITCH_MAX_ATTEMPTS = 3;
/** Mode switch to the SFU: enough streams to cut over even if some P2P peers are not heard there. */
const SFU_MIN_STREAMS_FOR_SWITCH = 3;

export interface SwitchRecord {
  from: VoiceMode;
  to: VoiceMode;
  waitMs: number;
  reason: string;
  at: number;
}

/** What the switcher needs from the voice service. */
export interface ModeSwitchHost {
  /** The audible transport. */
  current(): VoiceTransport | null;
  channelId(): string | null;
  myId(): string | null;
  /** Changes with every join and leave: a switch started in an earlier call is dropped. */
  callSeq(): number;
  /** POST /voice/join for the channel we are in (a fresh voice token and participant list). */
  join(channelId: string): Promise<VoiceJoinAnswer>;
  createTransport(myId: string, answer: VoiceJoinAnswer): VoiceTransport | null;
  /** Applies volumes, deafen and output device to a transport before it starts. */
  preparePlayback(t: VoiceTransport): void;
  /** Makes `next` the current transport (it is audible already). */
  adopt(next: VoiceTransport): void;
  log(msg: string, e?: unknown): void;
}

export class ModeSwitcher {
  private pending: VoiceTransport | null = null;
  private readonly lingering = new Set<VoiceTransport>();
  private seq = 0;
  private attempts = 0;
  /** Completed mode switches and the wait of each (tests and diagnostics). */
  readonly switches: SwitchRecord[] = [];
  private readonly timing: SwitchTiming;

  constructor(
    private readonly host: ModeSwitchHost,
    timing: Partial<SwitchTiming> = {},
  ) {
    this.timing = { ...SWITCH_TIMING, ...timing };
  }

  /** The transport being switched to, if any. */
  get next(): VoiceTransport | null {
    return this.pending;
  }

  /** Every transport besides the current one that is still open (they need voice states, playback...). */
  others(): VoiceTransport[] {
    return [...(this.pending ? [this.pending] : []), ...this.lingering];
  }

  /** The channel we are in now runs in `target` mode (RtcService checked the channel). */
  request(target: VoiceMode) {
    const current = this.host.current();
    if (!current) return;
    if (this.pending?.mode === target) return; // already on the way
    if (this.pending) {
      this.pending.close(); // the channel changed its mind during our switch
      this.pending = null;
      this.seq++;
    }
    if (current.mode === target) return;
    void this.switchTo(target);
  }

  /**
   * The channel moved from SFU node `from` to another (VOICE_SERVER_UPDATE: `from` drains or
   * died): the same make-before-break switch, from the SFU on `from` to the SFU the channel's
   * join now names.
   */
  moveNode(from: string) {
    const current = this.host.current();
    if (!current || current.mode !== 'sfu' || this.pending) return;
    void this.switchTo('sfu', from);
  }

  /**
   * A transport failed. Returns true when it was one of ours (pending or lingering): then
   * the current call goes on and the caller must not rejoin.
   */
  failed(t: VoiceTransport, reason: string): boolean {
    if (t === this.pending) {
      // The transport we were switching to failed: abort the switch, keep the current one.
      this.host.log(`voice mode -> ${t.mode}: new transport failed (${reason})`);
      this.seq++;
      this.pending = null;
      t.close();
      this.retry(t.mode);
      return true;
    }
    if (this.lingering.delete(t)) {
      t.close(); // the one we are leaving: nothing to rejoin
      return true;
    }
    return false;
  }

  owns(t: VoiceTransport): boolean {
    return t === this.pending || this.lingering.has(t);
  }

  /** Ends any switch in progress and closes every transport but the current one. */
  reset() {
    this.seq++;
    this.pending?.close();
    this.pending = null;
    for (const t of this.lingering) t.close();
    this.lingering.clear();
  }

  /** `leaving`: an SFU node move (moveNode), which the join's answer must not name again. */
  private async switchTo(target: VoiceMode, leaving?: string) {
    const seq = ++this.seq;
    const call = this.host.callSeq();
    const channelId = this.host.channelId();
    const myId = this.host.myId();
    if (!channelId || !myId) return;
    const started = performance.now();
    this.host.log(`voice mode -> ${target}: connecting before leaving ${this.host.current()?.mode}`);
    // Joining the channel we are in refreshes the voice token and the participant list; the
    // server keeps our state (no leave, no join event for the others).
    let answer: VoiceJoinAnswer;
    try {
      answer = await this.host.join(channelId);
    } catch (e) {
      this.host.log('mode switch: join failed', e);
      return;
    }
    if (seq !== this.seq || call !== this.host.callSeq() || !this.host.current()) return;
    if (answer.mode !== target) return; // changed again; its own update follows
    if (leaving !== undefined && sfuNodeId(answer) === leaving) return; // not moved after all
    const next = this.host.createTransport(myId, answer);
    if (!next) return;
    this.pending = next;
    next.setAudible(false);
    this.host.preparePlayback(next);
    next.start();
    const reason = await this.waitForMedia(next, seq);
    if (seq !== this.seq || this.pending !== next) return;
    this.pending = null;
    const old = this.host.current();
    if (!old) {
      next.close(); // unreachable: losing the current transport aborts the wait
      return;
    }
    if (reason === 'deadline' && !next.mediaReady()) {
      // The new transport never came up: stay where we are and try again.
      next.close();
      this.host.log(`voice mode -> ${target}: new transport not connected after ${this.timing.deadlineMs} ms`);
      this.retry(target);
      return;
    }
    this.attempts = 0;
    next.setAudible(true);
    old.setAudible(false);
    this.lingering.add(old);
    setTimeout(() => {
      if (this.lingering.delete(old)) old.close();
    }, this.timing.lingerMs);
    const waitMs = Math.round(performance.now() - started);
    this.switches.push({ from: old.mode, to: next.mode, waitMs, reason, at: Date.now() });
    this.host.log(`voice mode is ${next.mode} (${reason} after ${waitMs} ms)`);
    this.host.adopt(next);
  }

  /** A failed switch is tried again a little later, a few times, if still wanted. */
  private retry(target: VoiceMode) {
    if (++this.attempts > SWITCH_MAX_ATTEMPTS) {
      this.host.log(`voice mode -> ${target}: giving up after ${SWITCH_MAX_ATTEMPTS} attempts`);
      return;
    }
    const call = this.host.callSeq();
    setTimeout(() => {
      const current = this.host.current();
      if (call === this.host.callSeq() && current && !this.pending && current.mode !== target) void this.switchTo(target);
    }, this.timing.retryMs);
  }

  /**
   * Resolves once `next` carries audio from everyone we hear now on the current transport
   * (as many as it can carry), or at the deadline. Returns why it stopped waiting.
   */
  private async waitForMedia(next: VoiceTransport, seq: number): Promise<string> {
    const started = performance.now();
    const deadline = started + this.timing.deadlineMs;
    const none = (): Record<string, InboundAudio> => ({});
    let oldPrev = (await this.host.current()?.inbound().catch(none)) ?? {};
    let nextPrev = await next.inbound().catch(none);
    const oldHeardAt = new Map<string, number>();
    const newHeardAt = new Map<string, number>();
    const recent = (heardAt: Map<string, number>, now: number) =>
      new Set([...heardAt].filter(([, at]) => now - at <= this.timing.heardWindowMs).map(([u]) => u));
    for (;;) {
      await new Promise((r) => setTimeout(r, this.timing.pollMs));
      const current = this.host.current();
      if (seq !== this.seq || !current) return 'aborted';
      const now = performance.now();
      if (now > deadline) return 'deadline';
      const [o, n] = await Promise.all([current.inbound().catch(none), next.inbound().catch(none)]);
      for (const u of flowing(oldPrev, o)) oldHeardAt.set(u, now);
      for (const u of flowing(nextPrev, n)) newHeardAt.set(u, now);
      oldPrev = o;
      nextPrev = n;
      if (!next.mediaReady()) continue;
      const heardOld = recent(oldHeardAt, now);
      const heardNew = recent(newHeardAt, now);
      const missing = [...heardOld].filter((u) => !heardNew.has(u));
      // Nobody heard on the old transport means nobody to wait for, once we have listened
      // for a whole window.
      if (heardOld.size === 0) {
        if (now - started >= this.timing.heardWindowMs) return 'connected';
        continue;
      }
      if (missing.length === 0) return 'audio flows';
      // Last-N: the SFU forwards a few speakers; when it carries that many, it is enough.
      if (next.mode === 'sfu' && heardNew.size >= SFU_MIN_STREAMS_FOR_SWITCH) return 'audio flows';
    }
  }
}

/** Users whose packet counter grew between two inbound samples. */
export function flowing(before: Record<string, InboundAudio>, after: Record<string, InboundAudio>): Set<string> {
  return new Set(Object.keys(after).filter((u) => (after[u]?.packetsReceived ?? 0) > (before[u]?.packetsReceived ?? 0)));
}

/** The SFU node a join answer names (its `sfu.id`), if any. */
export function sfuNodeId(answer: VoiceJoinAnswer | null): string | undefined {
  const id = (answer?.sfu as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id ? id : undefined;
}
