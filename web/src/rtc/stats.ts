// Condenses an RTCStatsReport into what the voice panel and tests need: inbound audio
// counters and codec, round-trip time, jitter and loss, and the selected candidate types.

export interface PeerStats {
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  packetsSent: number;
  jitterMs: number | null;
  rttMs: number | null;
  audioLevel: number | null;
  codec: string | null;
  codecFmtp: string | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** Loss over the whole call, 0..1. */
  lossRate: number;
  timestamp: number;
}

type StatsLike = Iterable<[string, any]> | { forEach(cb: (v: any, k: string) => void): void };

function entries(report: StatsLike): any[] {
  const out: any[] = [];
  if (typeof (report as any).forEach === 'function') (report as any).forEach((v: any) => out.push(v));
  else for (const [, v] of report as Iterable<[string, any]>) out.push(v);
  return out;
}

export function summarizeStats(report: StatsLike): PeerStats {
  const all = entries(report);
  const byId = new Map<string, any>(all.map((s) => [s.id, s]));
  const s: PeerStats = {
    packetsReceived: 0,
    bytesReceived: 0,
    packetsLost: 0,
    packetsSent: 0,
    jitterMs: null,
    rttMs: null,
    audioLevel: null,
    codec: null,
    codecFmtp: null,
    localCandidateType: null,
    remoteCandidateType: null,
    lossRate: 0,
    timestamp: 0,
  };
  for (const st of all) {
    if (st.type === 'inbound-rtp' && (st.kind ?? st.mediaType) === 'audio') {
      s.packetsReceived += st.packetsReceived ?? 0;
      s.bytesReceived += st.bytesReceived ?? 0;
      s.packetsLost += Math.max(0, st.packetsLost ?? 0);
      if (typeof st.jitter === 'number') s.jitterMs = st.jitter * 1000;
      if (typeof st.audioLevel === 'number') s.audioLevel = st.audioLevel;
      const codec = st.codecId ? byId.get(st.codecId) : undefined;
      if (codec) {
        s.codec = codec.mimeType ?? null;
        s.codecFmtp = codec.sdpFmtpLine ?? null;
      }
      s.timestamp = st.timestamp ?? s.timestamp;
    } else if (st.type === 'outbound-rtp' && (st.kind ?? st.mediaType) === 'audio') {
      s.packetsSent += st.packetsSent ?? 0;
    } else if (st.type === 'remote-inbound-rtp' && typeof st.roundTripTime === 'number' && s.rttMs === null) {
      s.rttMs = st.roundTripTime * 1000;
    }
  }
  // The selected candidate pair: from the transport, else the nominated succeeded pair.
  let pair: any;
  for (const st of all) {
    if (st.type === 'transport' && st.selectedCandidatePairId) pair = byId.get(st.selectedCandidatePairId);
  }
  if (!pair) pair = all.find((st) => st.type === 'candidate-pair' && st.nominated && st.state === 'succeeded');
  if (pair) {
    if (typeof pair.currentRoundTripTime === 'number') s.rttMs = pair.currentRoundTripTime * 1000;
    s.localCandidateType = byId.get(pair.localCandidateId)?.candidateType ?? null;
    s.remoteCandidateType = byId.get(pair.remoteCandidateId)?.candidateType ?? null;
  }
  const total = s.packetsReceived + s.packetsLost;
  s.lossRate = total > 0 ? s.packetsLost / total : 0;
  return s;
}

/** A quality grade for the UI from rtt, jitter and loss. */
export function quality(s: Pick<PeerStats, 'rttMs' | 'jitterMs' | 'lossRate'> | null | undefined): 'good' | 'fair' | 'poor' | 'unknown' {
  if (!s || s.rttMs === null) return 'unknown';
  const jitter = s.jitterMs ?? 0;
  if (s.rttMs > 400 || s.lossRate > 0.1 || jitter > 60) return 'poor';
  if (s.rttMs > 200 || s.lossRate > 0.03 || jitter > 30) return 'fair';
  return 'good';
}

/** Inbound audio counters of one remote user (getStats inbound-rtp), for switch decisions and tests. */
export interface InboundAudio {
  packetsReceived: number;
  concealedSamples: number;
  totalSamplesReceived: number;
}

/** Inbound audio counters summed over a stats report (one receiver's, or a whole connection's). */
export function inboundAudio(report: StatsLike): InboundAudio {
  const out = { packetsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0 };
  for (const st of entries(report)) {
    if (st.type === 'inbound-rtp' && (st.kind ?? st.mediaType) === 'audio') {
      out.packetsReceived += st.packetsReceived ?? 0;
      out.concealedSamples += st.concealedSamples ?? 0;
      out.totalSamplesReceived += st.totalSamplesReceived ?? 0;
    }
  }
  return out;
}
