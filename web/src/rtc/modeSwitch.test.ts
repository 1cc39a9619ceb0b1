import { afterEach, describe, expect, it, vi } from 'vitest';
import type { VoiceJoinAnswer } from '../api/types';
import { flowing, ModeSwitcher, type ModeSwitchHost } from './modeSwitch';
import type { InboundAudio, VoiceMode, VoiceTransport } from './transport';

/** The part of a transport the switcher uses; `packets[user]` is what it has received. */
class Fake {
  audible = true;
  ready = false;
  closed = false;
  started = false;
  packets: Record<string, number> = {};
  constructor(readonly mode: VoiceMode) {}
  start() {
    this.started = true;
  }
  setAudible(on: boolean) {
    this.audible = on;
  }
  mediaReady() {
    return this.ready;
  }
  async inbound(): Promise<Record<string, InboundAudio>> {
    const out: Record<string, InboundAudio> = {};
    for (const [u, n] of Object.entries(this.packets)) out[u] = { packetsReceived: n, concealedSamples: 0, totalSamplesReceived: 0 };
    return out;
  }
  close() {
    this.closed = true;
  }
  /** Packets from `user` keep arriving (every `everyMs`: bursts slower than the polls). */
  hear(user: string, everyMs = 5) {
    const t = setInterval(() => (this.packets[user] = (this.packets[user] ?? 0) + 1), everyMs);
    timers.push(t);
  }
}
const timers: ReturnType<typeof setInterval>[] = [];
afterEach(() => timers.splice(0).forEach(clearInterval));

const until = (fn: () => void) => vi.waitFor(fn, { timeout: 3000, interval: 5 });

function setup(first: VoiceMode = 'p2p') {
  let current: Fake | null = new Fake(first);
  let call = 1;
  let mode: VoiceMode = 'sfu';
  const made: Fake[] = [];
  const adopted: Fake[] = [];
  const played: Fake[] = [];
  const logs: string[] = [];
  const host: ModeSwitchHost = {
    current: () => current as unknown as VoiceTransport | null,
    channelId: () => '10',
    myId: () => '1',
    callSeq: () => call,
    join: async () => ({ mode, channel_id: '10' }) as VoiceJoinAnswer,
    createTransport: (_me, answer) => {
      const t = new Fake(answer.mode);
      made.push(t);
      return t as unknown as VoiceTransport;
    },
    preparePlayback: (t) => void played.push(t as unknown as Fake),
    adopt: (t) => {
      current = t as unknown as Fake;
      adopted.push(current);
    },
    log: (m) => void logs.push(m),
  };
  const sw = new ModeSwitcher(host, { pollMs: 10, deadlineMs: 300, lingerMs: 50, retryMs: 20, heardWindowMs: 60 });
  return {
    sw,
    made,
    adopted,
    played,
    logs,
    current: () => current,
    setCurrent: (t: Fake | null) => (current = t),
    setMode: (m: VoiceMode) => (mode = m),
    newCall: () => call++,
  };
}

describe('ModeSwitcher', () => {
  it('builds the new transport silent, cuts over once it carries who we hear, and closes the old one after the linger', async () => {
    const h = setup();
    const old = h.current()!;
    old.hear('2');
    h.sw.request('sfu');
    await until(() => expect(h.made).toHaveLength(1));
    const next = h.made[0];
    expect(next.started).toBe(true);
    expect(next.audible).toBe(false);
    expect(h.played).toEqual([next]);
    expect(h.sw.next).toBe(next);
    expect(h.sw.others()).toEqual([next]);
    next.ready = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(h.adopted).toEqual([]); // '2' not heard on the new one yet
    next.hear('2');
    await until(() => expect(h.adopted).toEqual([next]));
    expect(next.audible).toBe(true);
    expect(old.audible).toBe(false);
    expect(old.closed).toBe(false); // lingers: peers that switch later still hear us
    expect(h.sw.owns(old as unknown as VoiceTransport)).toBe(true);
    await until(() => expect(old.closed).toBe(true));
    expect(h.sw.others()).toEqual([]);
    expect(h.sw.switches).toMatchObject([{ from: 'p2p', to: 'sfu', reason: 'audio flows' }]);
  });

  it('someone heard in bursts slower than the polls is still waited for (no early cut-over)', async () => {
    const h = setup();
    const old = h.current()!;
    old.hear('2', 35); // most 10 ms polls see no new packet
    h.sw.request('sfu');
    await until(() => expect(h.made).toHaveLength(1));
    const next = h.made[0];
    next.ready = true;
    await new Promise((r) => setTimeout(r, 150));
    expect(h.adopted).toEqual([]); // '2' is heard on the old one, not yet on the new one
    next.hear('2', 35);
    await until(() => expect(h.adopted).toEqual([next]));
    expect(h.sw.switches).toMatchObject([{ reason: 'audio flows' }]);
  });

  it('does nothing for the mode we are in, and a request for the other mode replaces one in progress', async () => {
    const h = setup();
    h.sw.request('p2p');
    await new Promise((r) => setTimeout(r, 20));
    expect(h.made).toHaveLength(0);
    h.sw.request('sfu');
    await until(() => expect(h.made).toHaveLength(1));
    h.sw.request('sfu'); // already on the way
    h.sw.request('p2p'); // back to where we are: the pending one goes
    expect(h.made[0].closed).toBe(true);
    expect(h.sw.next).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(h.made).toHaveLength(1);
  });

  it('drops a switch whose join answered another mode, or that a new call overtook', async () => {
    const h = setup();
    h.setMode('p2p'); // the channel went back before our join was answered
    h.sw.request('sfu');
    await new Promise((r) => setTimeout(r, 30));
    expect(h.made).toHaveLength(0);
    h.setMode('sfu');
    h.sw.request('sfu');
    h.newCall(); // we left and joined again meanwhile
    await new Promise((r) => setTimeout(r, 30));
    expect(h.made).toHaveLength(0);
  });

  it('a pending transport that fails is closed and the switch tried again; a current one is not ours', async () => {
    const h = setup();
    h.sw.request('sfu');
    await until(() => expect(h.made).toHaveLength(1));
    expect(h.sw.failed(h.made[0] as unknown as VoiceTransport, 'lost')).toBe(true);
    expect(h.made[0].closed).toBe(true);
    expect(h.sw.failed(h.current() as unknown as VoiceTransport, 'lost')).toBe(false);
    await until(() => expect(h.made).toHaveLength(2));
    h.made[1].ready = true;
    await until(() => expect(h.adopted).toEqual([h.made[1]]));
    expect(h.sw.switches[0].reason).toBe('connected');
  });

  it('gives up after three failed attempts', async () => {
    const h = setup();
    h.sw.request('sfu'); // never ready: each attempt ends at the deadline
    await until(() => expect(h.logs.some((l) => l.includes('giving up after 3 attempts'))).toBe(true));
    expect(h.made).toHaveLength(4);
    expect(h.made.every((t) => t.closed)).toBe(true);
    expect(h.adopted).toEqual([]);
  });

  it('reset closes the pending and lingering transports and stops the switch', async () => {
    const h = setup();
    h.sw.request('sfu');
    await until(() => expect(h.made).toHaveLength(1));
    h.sw.reset();
    expect(h.made[0].closed).toBe(true);
    h.made[0].ready = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(h.adopted).toEqual([]);
  });
});

describe('flowing', () => {
  it('names the users whose packet counter grew', () => {
    const a = (n: number): InboundAudio => ({ packetsReceived: n, concealedSamples: 0, totalSamplesReceived: 0 });
    expect([...flowing({ '2': a(5), '3': a(5) }, { '2': a(6), '3': a(5), '4': a(1) })].sort()).toEqual(['2', '4']);
    expect([...flowing({ '2': a(5) }, {})]).toEqual([]);
  });
});
