import { describe, expect, it } from 'vitest';
import { addOpusNack, opusParams, setAudioPtime, setOpusParams } from './sdp';
import { quality, summarizeStats } from './stats';

const SDP = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtpmap:9 G722/8000', ''].join('\r\n');

describe('setOpusParams', () => {
  it('adds usedtx and keeps existing params, only on the Opus line', () => {
    const out = setOpusParams(SDP);
    expect(out).toContain('a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1');
    expect(out).toContain('a=fmtp:63 111/111');
    expect(out.split('\r\n').length).toBe(SDP.split('\r\n').length);
  });
  it('adds an fmtp line when missing', () => {
    const out = setOpusParams('m=audio 9 RTP 111\na=rtpmap:111 opus/48000/2\n');
    expect(out).toContain('a=rtpmap:111 opus/48000/2\na=fmtp:111 usedtx=1;useinbandfec=1');
  });
  it('overrides an explicit usedtx=0 and is idempotent', () => {
    const once = setOpusParams(SDP.replace('useinbandfec=1', 'useinbandfec=0;usedtx=0'));
    expect(opusParams(once)).toMatchObject({ usedtx: '1', useinbandfec: '1' });
    expect(setOpusParams(once)).toBe(once);
  });
  it('leaves SDP without Opus untouched', () => {
    expect(setOpusParams('v=0\r\nm=video 9 RTP 96\r\n')).toBe('v=0\r\nm=video 9 RTP 96\r\n');
  });
});

describe('setAudioPtime', () => {
  const AV = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=rtpmap:111 opus/48000/2', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=rtpmap:96 VP8/90000', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:2', 'a=ptime:20', 'a=rtpmap:111 opus/48000/2', ''].join('\r\n');
  it('puts a=ptime in every audio section, after its c-line, replacing one it had', () => {
    const out = setAudioPtime(AV, 10).split('\r\n');
    expect(out.filter((l) => l.startsWith('a=ptime:'))).toEqual(['a=ptime:10', 'a=ptime:10']);
    expect(out.indexOf('a=ptime:10')).toBe(out.indexOf('c=IN IP4 0.0.0.0') + 1);
    // The video section is left as it was.
    const video = out.slice(out.indexOf('m=video 9 UDP/TLS/RTP/SAVPF 96'), out.lastIndexOf('m=audio 9 UDP/TLS/RTP/SAVPF 111'));
    expect(video).toEqual(['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=rtpmap:96 VP8/90000']);
    expect(out.length).toBe(AV.split('\r\n').length + 1);
  });
  it('is idempotent and keeps LF-only SDP as it is', () => {
    const once = setAudioPtime(AV, 10);
    expect(setAudioPtime(once, 10)).toBe(once);
    const lf = setAudioPtime('v=0\nm=audio 9 RTP 111\na=rtpmap:111 opus/48000/2\n', 10);
    expect(lf).toBe('v=0\nm=audio 9 RTP 111\na=ptime:10\na=rtpmap:111 opus/48000/2\n');
  });
  it('leaves SDP without audio, and rejected audio sections, untouched', () => {
    expect(setAudioPtime('v=0\r\nm=video 9 RTP 96\r\n', 10)).toBe('v=0\r\nm=video 9 RTP 96\r\n');
    expect(setAudioPtime('v=0\r\nm=audio 0 RTP 111\r\na=mid:3\r\n', 10)).toBe('v=0\r\nm=audio 0 RTP 111\r\na=mid:3\r\n');
  });
});

describe('summarizeStats', () => {
  const report = new Map<string, any>([
    ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
    ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.042, nominated: true, state: 'succeeded' }],
    ['L', { id: 'L', type: 'local-candidate', candidateType: 'relay' }],
    ['R', { id: 'R', type: 'remote-candidate', candidateType: 'host' }],
    ['C', { id: 'C', type: 'codec', mimeType: 'audio/opus', sdpFmtpLine: 'minptime=10;usedtx=1;useinbandfec=1' }],
    ['I', { id: 'I', type: 'inbound-rtp', kind: 'audio', packetsReceived: 980, packetsLost: 20, bytesReceived: 50_000, jitter: 0.004, audioLevel: 0.3, codecId: 'C' }],
    ['O', { id: 'O', type: 'outbound-rtp', kind: 'audio', packetsSent: 1000 }],
  ]);
  it('extracts packets, codec, rtt, jitter, loss and candidate types', () => {
    const s = summarizeStats(report);
    expect(s).toMatchObject({ packetsReceived: 980, packetsLost: 20, packetsSent: 1000, codec: 'audio/opus', rttMs: 42, jitterMs: 4, audioLevel: 0.3, localCandidateType: 'relay', remoteCandidateType: 'host' });
    expect(s.lossRate).toBeCloseTo(0.02);
    expect(quality(s)).toBe('good');
  });
  it('grades quality', () => {
    expect(quality({ rttMs: 250, jitterMs: 5, lossRate: 0 })).toBe('fair');
    expect(quality({ rttMs: 50, jitterMs: 5, lossRate: 0.2 })).toBe('poor');
    expect(quality(null)).toBe('unknown');
  });
});

describe('addOpusNack', () => {
  const offer = ['m=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', ''].join('\r\n');
  it('adds nack after the Opus rtcp-fb lines only, once', () => {
    const out = addOpusNack(offer);
    expect(out).toContain('a=rtcp-fb:111 transport-cc\r\na=rtcp-fb:111 nack\r\na=fmtp:111');
    expect(out.match(/nack/g)?.length).toBe(1);
    expect(addOpusNack(out)).toBe(out);
  });
  it('adds it after the rtpmap when Opus has no feedback', () => {
    expect(addOpusNack('a=rtpmap:109 opus/48000/2\na=fmtp:109 x=1\n')).toBe('a=rtpmap:109 opus/48000/2\na=rtcp-fb:109 nack\na=fmtp:109 x=1\n');
  });
  it('in an answer, only where the offer asked for it', () => {
    const answer = offer;
    expect(addOpusNack(answer, offer)).toBe(answer);
    expect(addOpusNack(answer, addOpusNack(offer))).toContain('a=rtcp-fb:111 nack');
  });
  it('leaves video and other codecs alone', () => {
    const v = 'm=video 9 RTP 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n';
    expect(addOpusNack(v)).toBe(v);
  });
});
