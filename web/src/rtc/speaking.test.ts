import { describe, expect, it } from 'vitest';
import { RemoteLevels, sameSpeakers, SPEAK_HOLD_MS, SpeakingDetector, type SpeakingInput } from './speaking';

const input = (over: Partial<SpeakingInput> = {}): SpeakingInput => ({
  myId: '1',
  transmitting: false,
  localLevel: 0,
  vadThreshold: 0.01,
  remote: {},
  muted: () => false,
  ...over,
});

describe('SpeakingDetector', () => {
  it('the voice activity gate opens on a loud sample and closes after the hold time', () => {
    const d = new SpeakingDetector();
    expect(d.gateOpen(0)).toBe(false);
    d.hearLocal(0.005, 0.01, 1000);
    expect(d.gateOpen(1000)).toBe(false);
    d.hearLocal(0.02, 0.01, 1000);
    expect(d.gateOpen(1000 + SPEAK_HOLD_MS - 1)).toBe(true);
    expect(d.gateOpen(1000 + SPEAK_HOLD_MS)).toBe(false);
  });

  it('we speak only while transmitting and above both the threshold and the floor', () => {
    const d = new SpeakingDetector();
    expect(d.update(0, input({ localLevel: 0.5 }))).toEqual({}); // muted or gate closed
    expect(d.update(0, input({ transmitting: true, localLevel: 0.004, vadThreshold: 0 }))).toEqual({}); // under the floor
    expect(d.update(0, input({ transmitting: true, localLevel: 0.02 }))).toEqual({ '1': true });
    // Held for a while after the last loud sample, but not once we stop transmitting.
    expect(d.update(SPEAK_HOLD_MS - 1, input({ transmitting: true }))).toEqual({ '1': true });
    expect(d.update(SPEAK_HOLD_MS - 1, input({ transmitting: false }))).toEqual({});
  });

  it('remote users: threshold, hold time, never while self-muted, gone at once when no longer carried', () => {
    const d = new SpeakingDetector();
    expect(d.update(0, input({ remote: { '2': 0.019, '3': 0.02 } }))).toEqual({ '3': true });
    expect(d.update(100, input({ remote: { '2': 0.5 }, muted: (u) => u === '2' }))).toEqual({});
    expect(d.update(SPEAK_HOLD_MS - 1, input({ remote: { '3': 0 } }))).toEqual({ '3': true });
    expect(d.update(SPEAK_HOLD_MS, input({ remote: { '3': 0 } }))).toEqual({});
    d.update(1000, input({ remote: { '3': 0.1 } }));
    expect(d.update(1100, input({ remote: {} }))).toEqual({}); // left the transport
  });

  it('silence() forgets a user (they muted), reset() everyone', () => {
    const d = new SpeakingDetector();
    d.update(0, input({ remote: { '2': 0.1, '3': 0.1 } }));
    d.silence('2');
    expect(d.update(10, input({ remote: { '2': 0, '3': 0 } }))).toEqual({ '3': true });
    d.reset();
    expect(d.update(20, input({ remote: { '2': 0, '3': 0 } }))).toEqual({});
  });
});

describe('sameSpeakers', () => {
  it('compares the users named', () => {
    expect(sameSpeakers({}, {})).toBe(true);
    expect(sameSpeakers({ a: true }, { a: true })).toBe(true);
    expect(sameSpeakers({ a: true }, { b: true })).toBe(false);
    expect(sameSpeakers({ a: true }, { a: true, b: true })).toBe(false);
  });
});

describe('RemoteLevels', () => {
  it('polls every n-th tick, one poll at a time, and drops a poll whose transport was replaced', async () => {
    const r = new RemoteLevels(2);
    let calls = 0;
    let release: (v: Record<string, number>) => void = () => {};
    const source = { levels: () => (calls++, new Promise<Record<string, number>>((res) => (release = res))) };
    r.tick(source, () => true);
    expect(calls).toBe(0);
    r.tick(source, () => true);
    expect(calls).toBe(1);
    r.tick(source, () => true);
    r.tick(source, () => true); // still in flight: skipped
    expect(calls).toBe(1);
    release({ '2': 0.3 });
    await new Promise((res) => setTimeout(res, 0));
    expect(r.levels).toEqual({ '2': 0.3 });
    r.tick(source, () => false);
    r.tick(source, () => false);
    expect(calls).toBe(2);
    release({ '2': 0.9 });
    await new Promise((res) => setTimeout(res, 0));
    expect(r.levels).toEqual({ '2': 0.3 });
    r.reset();
    expect(r.levels).toEqual({});
  });
});
