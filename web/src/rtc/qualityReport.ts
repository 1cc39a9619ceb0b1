// Quality reports: every 10 s the client condenses its getStats into the compact summary the
// server aggregates into the voice quality metrics (docs/protocol.md "Quality reports"): per
// received audio stream the packets received and lost, jitter, jitter buffer delay and
// concealed samples over the interval (deltas of the browser's cumulative counters), the
// round trip of the media path, and for a screen share the sender's bitrate and what limits
// its encoder. Pure: the caller gathers the stats and sends the result.

export const QUALITY_INTERVAL_MS = 10_000;

type StatsLike = Iterable<[string, any]> | { forEach(cb: (v: any, k: string) => void): void };

/** One connection's stats; `key` names the connection (a P2P peer's user id, 'sfu', 'stream'). */
export interface KeyedStats {
  key: string;
  report: StatsLike;
}

export interface AudioInEntry {
  packets_received: number;
  packets_lost: number;
  jitter_s: number;
  jitter_buffer_s?: number;
  concealed_samples?: number;
  total_samples?: number;
  bytes_received?: number;
  rtt_s?: number;
}

export interface QualityReportPayload {
  interval_s: number;
  mode: 'p2p' | 'sfu';
  rtt_s?: number;
  audio_in: AudioInEntry[];
  video_out?: { bitrate_bps: number; limitation: 'none' | 'bandwidth' | 'cpu' | 'other' };
}

/** The server refuses reports beyond these (see telemetry/quality_report.hpp). */
const MAX_AUDIO_IN = 64;
const MAX_INTERVAL_S = 60;

interface Counters {
  packetsReceived: number;
  packetsLost: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  bytesReceived: number;
}

function entries(report: StatsLike): any[] {
  const out: any[] = [];
  if (typeof (report as any).forEach === 'function') (report as any).forEach((v: any) => out.push(v));
  else for (const [, v] of report as Iterable<[string, any]>) out.push(v);
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The selected candidate pair's current round trip, seconds. */
function pathRtt(all: any[]): number | undefined {
  const byId = new Map<string, any>(all.map((s) => [s.id, s]));
  let pair: any;
  for (const st of all) if (st.type === 'transport' && st.selectedCandidatePairId) pair = byId.get(st.selectedCandidatePairId);
  if (!pair) pair = all.find((st) => st.type === 'candidate-pair' && st.nominated && st.state === 'succeeded');
  const rtt = pair?.currentRoundTripTime;
  return typeof rtt === 'number' && Number.isFinite(rtt) && rtt >= 0 && rtt <= 10 ? rtt : undefined;
}

function limitation(reason: unknown): 'none' | 'bandwidth' | 'cpu' | 'other' {
  return reason === 'bandwidth' || reason === 'cpu' || reason === 'none' ? reason : reason ? 'other' : 'none';
}

/**
 * Keeps the previous readings so each report carries what happened in its interval. The
 * first call only takes readings (returns null); a stream seen for the first time counts
 * from zero, one that went away is forgotten.
 */
export class QualityReporter {
  private prev = new Map<string, Counters>();
  private prevVideo = new Map<string, { bytes: number; at: number }>();
  private lastAt: number | null = null;

  reset() {
    this.prev.clear();
    this.prevVideo.clear();
    this.lastAt = null;
  }

  build(stats: KeyedStats[], mode: 'p2p' | 'sfu', nowMs: number): QualityReportPayload | null {
    const first = this.lastAt === null;
    const intervalS = first ? 0 : (nowMs - (this.lastAt as number)) / 1000;
    this.lastAt = nowMs;
    const next = new Map<string, Counters>();
    const audio: AudioInEntry[] = [];
    const rtts: number[] = [];
    let video: QualityReportPayload['video_out'];
    for (const { key, report } of stats) {
      const all = entries(report);
      const rtt = pathRtt(all);
      if (rtt !== undefined) rtts.push(rtt);
      for (const st of all) {
        const kind = st.kind ?? st.mediaType;
        if (st.type === 'inbound-rtp' && kind === 'audio') {
          const id = `${key}/${st.id}`;
          const c: Counters = {
            packetsReceived: num(st.packetsReceived),
            packetsLost: num(st.packetsLost),
            jitterBufferDelay: num(st.jitterBufferDelay),
            jitterBufferEmittedCount: num(st.jitterBufferEmittedCount),
            concealedSamples: num(st.concealedSamples),
            totalSamplesReceived: num(st.totalSamplesReceived),
            bytesReceived: num(st.bytesReceived),
          };
          next.set(id, c);
          const p = this.prev.get(id) ?? {
            packetsReceived: 0, packetsLost: 0, jitterBufferDelay: 0, jitterBufferEmittedCount: 0,
            concealedSamples: 0, totalSamplesReceived: 0, bytesReceived: 0,
          };
          const d = (f: keyof Counters) => Math.max(0, c[f] - p[f]);
          const emitted = d('jitterBufferEmittedCount');
          const e: AudioInEntry = {
            packets_received: d('packetsReceived'),
            packets_lost: d('packetsLost'),
            jitter_s: Math.min(num(st.jitter), 10),
            concealed_samples: d('concealedSamples'),
            total_samples: d('totalSamplesReceived'),
            bytes_received: d('bytesReceived'),
          };
          if (emitted > 0) e.jitter_buffer_s = Math.min(d('jitterBufferDelay') / emitted, 10);
          if (e.concealed_samples! > e.total_samples!) e.concealed_samples = e.total_samples;
          if (mode === 'p2p' && rtt !== undefined) e.rtt_s = rtt; // each peer has its own path
          audio.push(e);
        } else if (st.type === 'outbound-rtp' && kind === 'video') {
          const id = `${key}/${st.id}`;
          const bytes = num(st.bytesSent);
          const p = this.prevVideo.get(id);
          this.prevVideo.set(id, { bytes, at: nowMs });
          if (p && nowMs > p.at) {
            const bps = (Math.max(0, bytes - p.bytes) * 8) / ((nowMs - p.at) / 1000);
            video = { bitrate_bps: Math.min(bps, 1e8), limitation: limitation(st.qualityLimitationReason) };
          }
        }
      }
    }
    this.prev = next;
    if (first || intervalS < 1) return null;
    const report: QualityReportPayload = {
      interval_s: Math.min(intervalS, MAX_INTERVAL_S),
      mode,
      audio_in: audio.slice(0, MAX_AUDIO_IN),
    };
    if (rtts.length) report.rtt_s = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    if (video) report.video_out = video;
    // Counts must fit the interval the server checks them against (200 packets/s).
    const cap = Math.floor(200 * report.interval_s);
    for (const e of report.audio_in) {
      e.packets_received = Math.min(e.packets_received, cap);
      e.packets_lost = Math.min(e.packets_lost, cap);
    }
    return report;
  }
}
