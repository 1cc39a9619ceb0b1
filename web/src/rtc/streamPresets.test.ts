import { describe, expect, it } from 'vitest';
import { contentSettings, displayMediaOptions, encodingLimits, preset, sendParameters, simulcastLayers, STREAM_PRESETS } from './streamPresets';

describe('stream presets', () => {
  it('three presets with explicit bitrate caps; 1080p30 is the default', () => {
    expect(STREAM_PRESETS.map((p) => [p.id, p.width, p.height, p.frameRate, p.maxBitrate])).toEqual([
      ['720p30', 1280, 720, 30, 2_500_000],
      ['1080p30', 1920, 1080, 30, 6_000_000],
      ['1080p60', 1920, 1080, 60, 8_000_000],
    ]);
    expect(preset(undefined).id).toBe('1080p30');
    expect(preset('nonsense').id).toBe('1080p30');
    expect(preset('1080p60').frameRate).toBe(60);
  });

  it('capture options: the preset size and rate as ideal and max, audio asked for', () => {
    const o = displayMediaOptions(preset('720p30')) as DisplayMediaStreamOptions & { systemAudio?: string };
    expect(o.video).toEqual({ width: { ideal: 1280, max: 1280 }, height: { ideal: 720, max: 720 }, frameRate: { ideal: 30, max: 30 } });
    expect(o.audio).toBeTruthy();
    expect(o.systemAudio).toBe('include');
    const silent = displayMediaOptions(preset('1080p60'), false) as DisplayMediaStreamOptions & { systemAudio?: string };
    expect(silent.audio).toBe(false);
    expect((silent.video as MediaTrackConstraints).frameRate).toEqual({ ideal: 60, max: 60 });
  });

  it('content types: Game keeps motion, Text keeps detail', () => {
    expect(contentSettings('game')).toEqual({ contentHint: 'motion', degradationPreference: 'maintain-framerate' });
    expect(contentSettings('text')).toEqual({ contentHint: 'detail', degradationPreference: 'maintain-resolution' });
  });

  it('send parameters: limits on every encoding, the rest of the parameters kept', () => {
    expect(encodingLimits(preset('1080p30'))).toEqual({ maxBitrate: 6_000_000, maxFramerate: 30 });
    const current = { transactionId: 't1', encodings: [{ active: true }], codecs: [], headerExtensions: [], rtcp: {} } as unknown as RTCRtpSendParameters;
    const p = sendParameters(current, preset('1080p60'), 'text') as RTCRtpSendParameters & { degradationPreference?: string };
    expect(p.transactionId).toBe('t1');
    expect(p.encodings).toEqual([{ active: true, maxBitrate: 8_000_000, maxFramerate: 60, scaleResolutionDownBy: 1 }]);
    expect(p.degradationPreference).toBe('maintain-resolution');
    // A sender that reports no encoding yet still gets one with the limits.
    const empty = sendParameters({ transactionId: 't2', encodings: [] } as unknown as RTCRtpSendParameters, preset('720p30'), 'game');
    expect(empty.encodings).toEqual([{ maxBitrate: 2_500_000, maxFramerate: 30, scaleResolutionDownBy: 1 }]);
  });

  it('simulcast: three layers lowest first, each with its own limits, kept by rid on a preset change', () => {
    expect(simulcastLayers(preset('1080p30'))).toEqual([
      { rid: 'q', scaleResolutionDownBy: 3, maxBitrate: 500_000, maxFramerate: 15 },
      { rid: 'h', scaleResolutionDownBy: 1.5, maxBitrate: 2_500_000, maxFramerate: 30 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 6_000_000, maxFramerate: 30 },
    ]);
    expect(simulcastLayers(preset('720p30')).map((l) => [l.rid, l.scaleResolutionDownBy, l.maxBitrate])).toEqual([
      ['q', 4, 200_000],
      ['h', 2, 800_000],
      ['f', 1, 2_500_000],
    ]);
    const current = {
      transactionId: 't3',
      encodings: [{ rid: 'q', active: true }, { rid: 'h', active: false }, { rid: 'f', active: true }],
    } as unknown as RTCRtpSendParameters;
    const p = sendParameters(current, preset('1080p60'), 'game');
    expect(p.encodings).toEqual([
      { rid: 'q', active: true, scaleResolutionDownBy: 3, maxBitrate: 500_000, maxFramerate: 15 },
      { rid: 'h', active: false, scaleResolutionDownBy: 1.5, maxBitrate: 2_500_000, maxFramerate: 30 },
      { rid: 'f', active: true, scaleResolutionDownBy: 1, maxBitrate: 8_000_000, maxFramerate: 60 },
    ]);
  });
});
