import { describe, expect, it } from 'vitest';
import { parseLiveStreams, reconcileStreams, sectionDirections, streamSections, tracksByUser, type StreamListInput } from './streamList';

const base: StreamListInput = { channelId: '10', myId: '1', goneLive: [], gateway: {}, sfu: null, sharing: false, watching: [] };

describe('reconcileStreams', () => {
  it('no channel, no tiles', () => {
    expect(reconcileStreams({ ...base, channelId: null, goneLive: ['2'] })).toEqual([]);
  });

  it('gateway STREAM_UPDATE makes live tiles for this channel only; self_stream alone is not live yet', () => {
    const tiles = reconcileStreams({
      ...base,
      goneLive: ['5'],
      gateway: {
        '3': { channelId: '10', live: true, viewerIds: ['4'], viewerCount: 1 },
        '7': { channelId: '99', live: true, viewerIds: [], viewerCount: 0 },
        '8': { channelId: '10', live: false, viewerIds: [], viewerCount: 0 },
      },
      watching: ['3'],
    });
    expect(tiles.map((t) => [t.userId, t.live, t.viewerCount, t.watching])).toEqual([
      ['3', true, 1, true],
      ['5', false, 0, false],
    ]);
  });

  it('the SFU list wins over the gateway when there is one', () => {
    const tiles = reconcileStreams({
      ...base,
      gateway: { '3': { channelId: '10', live: true, viewerIds: [], viewerCount: 0 } },
      sfu: [{ userId: '4', viewerIds: ['1', '9'] }],
    });
    expect(tiles.map((t) => [t.userId, t.live, t.viewerIds])).toEqual([['4', true, ['1', '9']]]);
  });

  it('our own stream comes first while we share and goes the moment we stop', () => {
    const sfu = [
      { userId: '20', viewerIds: [] },
      { userId: '1', viewerIds: ['20', '3'] },
      { userId: '3', viewerIds: [] },
    ];
    const on = reconcileStreams({ ...base, sfu, sharing: true, goneLive: ['1'] });
    expect(on.map((t) => [t.userId, t.self])).toEqual([
      ['1', true],
      ['3', false],
      ['20', false], // ids sort as numbers
    ]);
    expect(on[0].viewerIds).toEqual(['20', '3']);
    const off = reconcileStreams({ ...base, sfu, sharing: false, goneLive: ['1'] });
    expect(off.map((t) => t.userId)).toEqual(['3', '20']);
    // Sharing before the media arrives: a tile of ours, not live yet.
    expect(reconcileStreams({ ...base, sharing: true })).toEqual([{ userId: '1', live: false, viewerIds: [], viewerCount: 0, self: true, watching: false }]);
  });

  it('parses the streams event defensively', () => {
    expect(parseLiveStreams({ streams: [{ user_id: '2', viewer_ids: ['3', 4] }, { viewer_ids: [] }, { user_id: 5 }] })).toEqual([
      { userId: '2', viewerIds: ['3', '4'] },
      { userId: '5', viewerIds: [] },
    ]);
    expect(parseLiveStreams(null)).toEqual([]);
    expect(parseLiveStreams({ streams: 'x' })).toEqual([]);
  });
});

const offer = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:0',
  'a=recvonly',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:1',
  'a=recvonly',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:s2',
  'a=sendonly',
  'a=msid:u7-screen v',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:s3',
  'a=sendonly',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:s4',
  'a=inactive',
  'm=video 0 UDP/TLS/RTP/SAVPF 96',
  'a=mid:s5',
  'a=sendonly',
  '',
].join('\r\n');

describe('track-to-stream mapping', () => {
  it('reads each section direction by mid (port 0 is inactive)', () => {
    expect(Object.fromEntries(sectionDirections(offer))).toEqual({ '0': 'recvonly', '1': 'recvonly', s2: 'sendonly', s3: 'sendonly', s4: 'inactive', s5: 'inactive' });
  });

  it('maps screen sections to their streamer; inactive ones and non-screen entries carry nobody', () => {
    const sections = streamSections(
      [
        { mid: 's2', ssrc: 1, user_id: '7', kind: 'video', source: 'screen' },
        { mid: 's3', ssrc: 2, user_id: '7', kind: 'audio', source: 'screen' },
        { mid: 's4', ssrc: 3, user_id: '8', kind: 'video', source: 'screen' },
        { mid: 's5', ssrc: 4, user_id: '9', kind: 'video', source: 'screen' },
        { mid: 'a0', ssrc: 5, kind: 'audio', slot: 0 },
        { mid: 's6', ssrc: 6, user_id: '9', kind: 'video' },
      ],
      offer,
    );
    expect([...sections.values()]).toEqual([
      { mid: 's2', userId: '7', kind: 'video', active: true },
      { mid: 's3', userId: '7', kind: 'audio', active: true },
      { mid: 's4', userId: '8', kind: 'video', active: false },
      { mid: 's5', userId: '9', kind: 'video', active: false },
    ]);
    const byUser = tracksByUser(sections, [
      { mid: '0', track: 'own-recv-video' },
      { mid: 's2', track: 'v7' },
      { mid: 's3', track: 'a7' },
      { mid: 's4', track: 'v8' },
      { mid: null, track: 'x' },
    ]);
    expect(Object.fromEntries(byUser)).toEqual({ '7': { video: 'v7', audio: 'a7' } });
  });
});
