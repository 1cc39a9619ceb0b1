import { describe, expect, it } from 'vitest';
import { QualityReporter, type KeyedStats } from './qualityReport';

function inbound(id: string, c: Record<string, number>) {
  return { id, type: 'inbound-rtp', kind: 'audio', ...c };
}
function pair(rtt: number) {
  return [
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
    { id: 'P', type: 'candidate-pair', currentRoundTripTime: rtt },
  ];
}
const report = (...stats: any[]) => new Map(stats.map((s) => [s.id, s]));

describe('QualityReporter', () => {
  it('reports what happened in the interval (deltas), with the path RTT', () => {
    const q = new QualityReporter();
    const at = (n: Record<string, number>) =>
      [{ key: 'sfu', report: report(inbound('A', n), ...pair(0.04)) }] as KeyedStats[];
    expect(
      q.build(at({ packetsReceived: 100, packetsLost: 1, jitterBufferDelay: 4, jitterBufferEmittedCount: 96000, concealedSamples: 0, totalSamplesReceived: 96000, bytesReceived: 8000, jitter: 0.003 }), 'sfu', 0),
    ).toBeNull(); // the first call only takes readings
    const r = q.build(
      at({ packetsReceived: 595, packetsLost: 6, jitterBufferDelay: 4 + 0.05 * 480000, jitterBufferEmittedCount: 96000 + 480000, concealedSamples: 960, totalSamplesReceived: 96000 + 480000, bytesReceived: 48000, jitter: 0.005 }),
      'sfu',
      10_000,
    );
    expect(r).toMatchObject({ interval_s: 10, mode: 'sfu', rtt_s: 0.04 });
    expect(r!.audio_in).toHaveLength(1);
    const a = r!.audio_in[0];
    expect(a).toMatchObject({ packets_received: 495, packets_lost: 5, jitter_s: 0.005, concealed_samples: 960, total_samples: 480000, bytes_received: 40000 });
    expect(a.jitter_buffer_s).toBeCloseTo(0.05, 9);
    expect(a.rtt_s).toBeUndefined(); // SFU: one path, the report's RTT
  });

  it('in P2P each peer is its own stream with its own RTT; a peer seen first counts from zero', () => {
    const q = new QualityReporter();
    q.build([{ key: '2', report: report(inbound('A', { packetsReceived: 50 }), ...pair(0.02)) }], 'p2p', 0);
    const r = q.build(
      [
        { key: '2', report: report(inbound('A', { packetsReceived: 550 }), ...pair(0.02)) },
        // Same stats id on another connection: a different stream.
        { key: '3', report: report(inbound('A', { packetsReceived: 300, packetsLost: 3 }), ...pair(0.1)) },
      ],
      'p2p',
      10_000,
    )!;
    expect(r.audio_in.map((a) => [a.packets_received, a.packets_lost, a.rtt_s])).toEqual([
      [500, 0, 0.02],
      [300, 3, 0.1],
    ]);
    expect(r.rtt_s).toBeCloseTo(0.06, 9);
  });

  it("reports a screen share's bitrate and what limits its encoder", () => {
    const q = new QualityReporter();
    const out = (bytes: number, reason: string) => [{ key: 'stream', report: report({ id: 'O', type: 'outbound-rtp', kind: 'video', bytesSent: bytes, qualityLimitationReason: reason }) }];
    expect(q.build(out(0, 'none'), 'sfu', 0)).toBeNull();
    const r = q.build(out(5_000_000, 'bandwidth'), 'sfu', 10_000)!;
    expect(r.video_out).toEqual({ bitrate_bps: 4_000_000, limitation: 'bandwidth' });
    expect(q.build(out(6_000_000, 'thermal'), 'sfu', 20_000)!.video_out!.limitation).toBe('other');
  });

  it('stays inside the bounds the server checks: counters that went backwards, too short an interval', () => {
    const q = new QualityReporter();
    q.build([{ key: 'sfu', report: report(inbound('A', { packetsReceived: 500, concealedSamples: 10 })) }], 'sfu', 0);
    expect(q.build([{ key: 'sfu', report: report(inbound('A', { packetsReceived: 600 })) }], 'sfu', 500)).toBeNull();
    // A restarted receiver: its counters reset; no negative deltas.
    const r = q.build([{ key: 'sfu', report: report(inbound('A', { packetsReceived: 3, concealedSamples: 0 })) }], 'sfu', 10_500)!;
    expect(r.audio_in[0]).toMatchObject({ packets_received: 0, concealed_samples: 0 });
    expect(r.rtt_s).toBeUndefined();
  });
});
