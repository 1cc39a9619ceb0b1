import { describe, expect, it } from 'vitest';
import { EnergyMeter, readInboundEnergy, rmsLevel } from './audioLevel';

const report = (...entries: object[]) => ({ forEach: (cb: (s: any) => void) => entries.forEach(cb) });

describe('rmsLevel', () => {
  it('is the RMS amplitude of the samples', () => {
    expect(rmsLevel([])).toBe(0);
    expect(rmsLevel(new Float32Array(64))).toBe(0);
    expect(rmsLevel([1, -1, 1, -1])).toBe(1);
    const sine = Float32Array.from({ length: 4800 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * i) / 48));
    expect(rmsLevel(sine)).toBeCloseTo(0.5 / Math.SQRT2, 4);
  });
});

describe('readInboundEnergy', () => {
  it('reads the inbound-rtp counters and ignores other entries', () => {
    expect(readInboundEnergy(report({ type: 'codec' }, { type: 'inbound-rtp', totalAudioEnergy: 2, totalSamplesDuration: 10, audioLevel: 0.3 }))).toEqual({ energy: 2, duration: 10, instant: 0.3 });
    expect(readInboundEnergy(report({ type: 'inbound-rtp' }))).toEqual({ energy: 0, duration: 0, instant: 0 });
    expect(readInboundEnergy(report())).toEqual({ energy: 0, duration: 0, instant: 0 });
  });
});

describe('EnergyMeter', () => {
  it('first read: the instant level; then the RMS over the interval between reads', () => {
    const m = new EnergyMeter();
    expect(m.update({ energy: 1, duration: 10, instant: 0.2 })).toBe(0.2);
    // 0.5 s at level 0.3: energy grows by 0.3^2 * 0.5
    expect(m.update({ energy: 1 + 0.09 * 0.5, duration: 10.5, instant: 0 })).toBeCloseTo(0.3, 6);
  });

  it('no new samples (DTX) reads as silence; counters that go back never go negative', () => {
    const m = new EnergyMeter();
    m.update({ energy: 1, duration: 10, instant: 0 });
    expect(m.update({ energy: 1, duration: 10, instant: 0.9 })).toBe(0);
    expect(m.update({ energy: 0.5, duration: 11, instant: 0 })).toBe(0);
  });

  it('a short sound between two reads still counts (the instant level would miss it)', () => {
    const m = new EnergyMeter();
    m.update({ energy: 0, duration: 0, instant: 0 });
    // 20 ms at full scale inside a 200 ms interval, silent again at the read
    expect(m.update({ energy: 0.02, duration: 0.2, instant: 0 })).toBeCloseTo(Math.sqrt(0.1), 6);
  });

  it('reset starts over from the instant level (a slot that carries someone else)', () => {
    const m = new EnergyMeter();
    m.update({ energy: 5, duration: 50, instant: 0 });
    m.reset();
    expect(m.update({ energy: 0.1, duration: 1, instant: 0.4 })).toBe(0.4);
  });
});
