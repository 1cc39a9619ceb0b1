import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/http';
import type { StreamConnectionOptions, StreamLink } from './streamConnection';
import type { LiveStream } from './streamList';
import { MISSING_PERMISSION_MESSAGE, StreamService, type StreamCall } from './streamService';

const tick = () => new Promise((r) => setTimeout(r, 0));

class FakeTrack extends EventTarget {
  contentHint = '';
  stopped = false;
  constraints: unknown = null;
  constructor(readonly kind: 'video' | 'audio') {
    super();
  }
  stop() {
    this.stopped = true;
  }
  async applyConstraints(c: unknown) {
    this.constraints = c;
  }
  end() {
    this.stopped = true;
    this.dispatchEvent(new Event('ended'));
  }
}

function fakeMedia(audio: boolean) {
  const v = new FakeTrack('video');
  const a = audio ? new FakeTrack('audio') : null;
  const media = {
    getVideoTracks: () => [v],
    getAudioTracks: () => (a ? [a] : []),
    getTracks: () => (a ? [v, a] : [v]),
  } as unknown as MediaStream;
  return { media, v, a };
}

class FakeLink implements StreamLink {
  started = false;
  closed = false;
  live: LiveStream[] | null = null;
  shared: { video: unknown; audio: unknown; preset: string; content: string } | null = null;
  shares = 0;
  stops = 0;
  configured: string[] = [];
  watches: string[] = [];
  unwatches: string[] = [];
  constructor(readonly o: StreamConnectionOptions) {}
  start() {
    this.started = true;
  }
  async share(video: MediaStreamTrack, audio: MediaStreamTrack | null, p: { id: string }, content: string) {
    this.shares++;
    this.shared = { video, audio, preset: p.id, content };
  }
  async configure(p: { id: string }, content: string) {
    this.configured.push(`${p.id}/${content}`);
  }
  async stopShare() {
    this.stops++;
    this.shared = null;
  }
  watch(u: string) {
    this.watches.push(u);
  }
  unwatch(u: string) {
    this.unwatches.push(u);
  }
  forget() {}
  media() {
    return new Map<string, MediaStream>();
  }
  close() {
    this.closed = true;
  }
}

function setup(opts: { postError?: Error; captureError?: Error; audio?: boolean; call?: StreamCall | null } = {}) {
  const calls: string[] = [];
  const links: FakeLink[] = [];
  const captures: DisplayMediaStreamOptions[] = [];
  let call: StreamCall | null = opts.call === undefined ? { channelId: '10', token: 'vt', url: 'ws://sfu/voice' } : opts.call;
  let last = fakeMedia(opts.audio ?? true);
  const svc = new StreamService({
    api: {
      post: async <T,>(path: string) => {
        calls.push(`POST ${path}`);
        if (opts.postError) throw opts.postError;
        return {} as T;
      },
      delete: async <T,>(path: string) => {
        calls.push(`DELETE ${path}`);
        return undefined as T;
      },
    },
    call: () => call,
    capture: async (o) => {
      captures.push(o);
      calls.push('capture');
      if (opts.captureError) throw opts.captureError;
      last = fakeMedia(opts.audio ?? true);
      return last.media;
    },
    connect: (o) => {
      const l = new FakeLink(o);
      links.push(l);
      return l;
    },
    storage: null,
  });
  return { svc, calls, links, captures, media: () => last, setCall: (c: StreamCall | null) => (call = c) };
}

describe('StreamService', () => {
  it('share: go-live first, then the capture at the preset; the connection opens with the voice token and SFU url', async () => {
    const { svc, calls, links, captures } = setup();
    await svc.startShare();
    expect(calls).toEqual(['POST /voice/stream/10', 'capture']);
    expect((captures[0].video as MediaTrackConstraints).width).toEqual({ ideal: 1920, max: 1920 });
    expect(links).toHaveLength(1);
    expect(links[0].o).toMatchObject({ url: 'ws://sfu/voice', token: 'vt', channelId: '10' });
    expect(links[0].started).toBe(true);
    expect(links[0].shared).toMatchObject({ preset: '1080p30', content: 'game' });
    expect(links[0].shared?.audio).not.toBeNull();
    const s = svc.getSnapshot();
    expect(s.share).toBe('sharing');
    expect(s.localAudio).toBe(true);
    expect((s.local?.getVideoTracks()[0] as unknown as FakeTrack).contentHint).toBe('motion');
  });

  it('403 on go-live: a clear error, nothing captured, no connection', async () => {
    const { svc, calls, links } = setup({ postError: new ApiError(403, 'missing_permission', 'You need the Stream permission in this channel') });
    await svc.startShare();
    expect(calls).toEqual(['POST /voice/stream/10']);
    expect(links).toHaveLength(0);
    expect(svc.getSnapshot()).toMatchObject({ share: 'idle', error: MISSING_PERMISSION_MESSAGE });
  });

  it('the picker cancelled: the go-live is withdrawn, no error', async () => {
    const err = new Error('Permission denied');
    err.name = 'NotAllowedError';
    const { svc, calls, links } = setup({ captureError: err });
    await svc.startShare();
    await tick();
    expect(calls).toEqual(['POST /voice/stream/10', 'capture', 'DELETE /voice/stream/10']);
    expect(links).toHaveLength(0);
    expect(svc.getSnapshot()).toMatchObject({ share: 'idle', error: null });
  });

  it('stop sharing (button): capture stopped, sections renegotiated, go-live withdrawn, connection closed', async () => {
    const { svc, calls, links, media } = setup();
    await svc.startShare();
    await svc.stopShare();
    expect(media().v.stopped).toBe(true);
    expect(media().a?.stopped).toBe(true);
    expect(links[0].stops).toBe(1);
    expect(calls.at(-1)).toBe('DELETE /voice/stream/10');
    expect(links[0].closed).toBe(true);
    expect(svc.getSnapshot()).toMatchObject({ share: 'idle', local: null, connected: false });
  });

  it("the browser's own Stop sharing (track ended) stops the same way", async () => {
    const { svc, calls, links, media } = setup();
    await svc.startShare();
    media().v.end();
    await tick();
    await tick();
    expect(links[0].stops).toBe(1);
    expect(calls.at(-1)).toBe('DELETE /voice/stream/10');
    expect(svc.getSnapshot().share).toBe('idle');
  });

  it('watching opens the connection lazily, several at once; the last unwatch closes it', async () => {
    const { svc, links } = setup();
    expect(links).toHaveLength(0);
    svc.watch('7');
    svc.watch('8');
    svc.watch('7');
    expect(links).toHaveLength(1);
    expect(links[0].watches).toEqual(['7', '8', '7']);
    expect(svc.getSnapshot().watching).toEqual(['7', '8']);
    svc.unwatch('7');
    expect(links[0].closed).toBe(false);
    svc.unwatch('8');
    expect(links[0].unwatches).toEqual(['7', '8']);
    expect(links[0].closed).toBe(true);
    svc.watch('9');
    expect(links).toHaveLength(2);
  });

  it('sharing and watching share one connection; it stays while either goes on', async () => {
    const { svc, links } = setup();
    svc.watch('7');
    await svc.startShare();
    expect(links).toHaveLength(1);
    await svc.stopShare();
    expect(links[0].closed).toBe(false);
    svc.unwatch('7');
    expect(links[0].closed).toBe(true);
  });

  it('a watched stream that leaves the live list is unwatched', () => {
    const { svc, links } = setup();
    svc.watch('7');
    links[0].live = [{ userId: '7', viewerIds: ['1'] }];
    links[0].o.onChange();
    expect(svc.getSnapshot()).toMatchObject({ watching: ['7'], sfuLive: [{ userId: '7', viewerIds: ['1'] }] });
    links[0].live = [];
    links[0].o.onChange();
    expect(svc.getSnapshot().watching).toEqual([]);
    expect(links[0].closed).toBe(true);
  });

  it('stream_denied / stream_ended end our share with a clear error; watching goes on', async () => {
    for (const code of ['stream_denied', 'stream_ended']) {
      const { svc, links, media } = setup();
      svc.watch('7');
      await svc.startShare();
      links[0].o.onError(code, '');
      expect(media().v.stopped).toBe(true);
      expect(svc.getSnapshot().share).toBe('idle');
      expect(svc.getSnapshot().error).toMatch(/Stream permission/);
      expect(links[0].closed).toBe(false);
    }
  });

  it('stream_ended after our own stop says nothing', async () => {
    const { svc, links } = setup();
    svc.watch('7');
    await svc.startShare();
    await svc.stopShare();
    links[0].o.onError('stream_ended', '');
    expect(svc.getSnapshot().error).toBeNull();
  });

  it('4006 on the stream connection ends everything with a clear error', async () => {
    const { svc, links, media } = setup();
    svc.watch('7');
    await svc.startShare();
    links[0].o.onClosed('voice_state_ended', 4006);
    expect(media().v.stopped).toBe(true);
    expect(svc.getSnapshot()).toMatchObject({ share: 'idle', watching: [], connected: false });
    expect(svc.getSnapshot().error).toMatch(/no longer have access/);
  });

  it('leaving voice closes the connection and withdraws the go-live', async () => {
    const { svc, calls, links } = setup();
    await svc.startShare();
    svc.end();
    await tick();
    expect(links[0].closed).toBe(true);
    expect(calls.at(-1)).toBe('DELETE /voice/stream/10');
    expect(svc.getSnapshot()).toMatchObject({ share: 'idle', error: null, connected: false });
  });

  it('a stop while the capture is still open wins', async () => {
    const { svc, links, calls } = setup();
    const p = svc.startShare();
    await svc.stopShare();
    await p;
    await tick();
    expect(links).toHaveLength(0);
    // The withdrawal goes after the go-live has landed, never before it.
    expect(calls).toEqual(['POST /voice/stream/10', 'DELETE /voice/stream/10']);
    expect(svc.getSnapshot().share).toBe('idle');
  });

  it('preset and content changes apply to a running share', async () => {
    const { svc, links, media } = setup();
    await svc.startShare();
    await svc.setPreset('720p30');
    await svc.setContent('text');
    expect(links[0].configured).toEqual(['720p30/game', '720p30/text']);
    expect(media().v.contentHint).toBe('detail');
    expect((media().v.constraints as MediaTrackConstraints).height).toEqual({ ideal: 720, max: 720 });
  });

  it('STREAM_UPDATE is kept per user until it says not live', () => {
    const { svc } = setup();
    svc.onStreamUpdate({ channel_id: '10', user_id: '7', live: true, viewer_ids: ['1'], viewer_count: 1 });
    expect(svc.getSnapshot().gateway).toEqual({ '7': { channelId: '10', live: true, viewerIds: ['1'], viewerCount: 1 } });
    svc.onStreamUpdate({ channel_id: '10', user_id: '7', live: false, viewer_ids: [], viewer_count: 0 });
    expect(svc.getSnapshot().gateway).toEqual({});
  });

  it('not in voice: sharing says so, watching does nothing', async () => {
    const { svc, calls, links } = setup({ call: null });
    await svc.startShare();
    svc.watch('7');
    expect(calls).toEqual([]);
    expect(links).toHaveLength(0);
    expect(svc.getSnapshot().error).toMatch(/Join a voice channel/);
  });
});
