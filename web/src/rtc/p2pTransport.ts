// P2P mesh: one PeerLink per other participant. Connections are made for the participants
// listed at join and for users who join later (VOICE_STATE_UPDATE), and lazily for a user
// whose signal arrives first. Signals carry the sending connection's id (sid) and, once
// known, the receiving one's (to_sid): messages from or to an earlier connection between the
// two users (an earlier join, or a connection one side replaced because it never came up)
// are recognized and dropped, and a new sid from the peer replaces our connection too.
import type { VoiceState } from '../api/types';
import type { KeyedStats } from './qualityReport';
import type { SignalPayload } from './negotiation';
import { PeerLink } from './peer';
import type { InboundAudio, PeerInfo, TrackSource, TransportContext, VoiceTransport } from './transport';

interface WireSignal extends SignalPayload {
  sid?: string;
  to_sid?: string;
}

export class P2PTransport implements VoiceTransport {
  readonly mode = 'p2p' as const;
  private readonly links = new Map<string, PeerLink>();
  private playback = { volumes: {} as Record<string, number>, deafened: false, sinkId: '' };
  /** What we send, by source: every link sends the same, including links made later. */
  private readonly published = new Map<TrackSource, MediaStreamTrack | null>();
  private audible = true;

  constructor(private readonly ctx: TransportContext) {
    this.published.set('mic', ctx.localTrack);
  }

  start() {
    for (const p of this.ctx.join.participants ?? []) {
      if (p.user_id !== this.ctx.myId && p.channel_id === this.ctx.join.channel_id) this.ensure(p.user_id);
    }
  }

  voiceState(vs: VoiceState) {
    if (vs.user_id === this.ctx.myId) return;
    if (vs.channel_id === this.ctx.join.channel_id) this.ensure(vs.user_id);
    else this.drop(vs.user_id);
  }

  /** Signals dropped on arrival, by reason (diagnostics). */
  readonly dropped = { earlierJoin: 0, strayCandidate: 0 };
  /** Connections replaced because they never came up. */
  resets = 0;

  signal(from: string, raw: unknown) {
    const p = (raw ?? {}) as WireSignal;
    let link = this.links.get(from);
    if (p.to_sid && p.to_sid !== link?.localSession) {
      this.dropped.earlierJoin++; // meant for an earlier connection of ours
      return;
    }
    if (link && p.sid && link.remoteSession && link.remoteSession !== p.sid) {
      this.ctx.log(`peer ${from} made a new connection: replacing ours`);
      this.drop(from);
      link = undefined;
    }
    if (!link) {
      if (!p.description) {
        this.dropped.strayCandidate++; // a candidate of a connection that no longer exists
        return;
      }
      link = this.ensure(from);
    }
    if (p.sid) link.remoteSession = p.sid;
    void link.receive({ description: p.description, candidate: p.candidate, offerId: p.offerId, answerTo: p.answerTo });
  }

  private ensure(userId: string): PeerLink {
    let link = this.links.get(userId);
    if (link) return link;
    const created: PeerLink = new PeerLink({
      myId: this.ctx.myId,
      peerId: userId,
      iceServers: (this.ctx.join.ice_servers ?? []) as RTCIceServer[],
      forceRelay: this.ctx.forceRelay,
      localTrack: this.published.get('mic') ?? null,
      localStream: this.ctx.localStream,
      send: (payload) => {
        const wire: WireSignal = { ...payload, sid: created.localSession };
        if (created.remoteSession) wire.to_sid = created.remoteSession;
        this.ctx.sendSignal(userId, wire);
      },
      onReset: () => {
        if (this.links.get(userId) !== created) return;
        this.ctx.log(`connection with ${userId} never came up: replacing it`);
        this.resets++;
        this.drop(userId);
        this.ensure(userId);
      },
      onChange: () => this.ctx.onChange(),
      log: this.ctx.log,
    });
    link = created;
    for (const [source, track] of this.published) if (source !== 'mic' && track) void created.publish(source, track);
    this.links.set(userId, link);
    this.applyPlayback(userId, link);
    this.ctx.onChange();
    return link;
  }

  private drop(userId: string) {
    const link = this.links.get(userId);
    if (!link) return;
    link.close();
    this.links.delete(userId);
    this.ctx.onChange();
  }

  async publish(source: TrackSource, track: MediaStreamTrack | null) {
    this.published.set(source, track);
    await Promise.all([...this.links.values()].map((l) => l.publish(source, track)));
  }

  async unpublish(source: TrackSource) {
    if (source === 'mic') this.published.set('mic', null);
    else this.published.delete(source);
    await Promise.all([...this.links.values()].map((l) => l.unpublish(source)));
  }

  setPlayback(volumes: Record<string, number>, deafened: boolean, sinkId: string) {
    const sinkChanged = sinkId !== this.playback.sinkId;
    this.playback = { volumes, deafened, sinkId };
    for (const [uid, link] of this.links) {
      this.applyPlayback(uid, link, sinkChanged);
    }
  }

  private applyPlayback(uid: string, link: PeerLink, sink = true) {
    link.setVolume(this.playback.volumes[uid] ?? 100, this.playback.deafened || !this.audible);
    if (sink && this.playback.sinkId) void link.setSink(this.playback.sinkId);
  }

  setAudible(on: boolean) {
    this.audible = on;
    for (const [uid, link] of this.links) this.applyPlayback(uid, link, false);
  }

  mediaReady(): boolean {
    // Some peer is connected (peers that never answer, e.g. a bot that only speaks SFU, must
    // not hold a switch up; the caller also compares who is heard).
    const links = [...this.links.values()];
    return links.length === 0 || links.some((l) => l.connectionState === 'connected');
  }

  async inbound(): Promise<Record<string, InboundAudio>> {
    const out: Record<string, InboundAudio> = {};
    await Promise.all(
      [...this.links.entries()].map(async ([uid, link]) => {
        out[uid] = await link.inbound().catch(() => ({ packetsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0 }));
      }),
    );
    return out;
  }

  async levels(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await Promise.all(
      [...this.links.entries()].map(async ([uid, link]) => {
        out[uid] = await link.level().catch(() => 0);
      }),
    );
    return out;
  }

  peers(): PeerInfo[] {
    return [...this.links.entries()].map(([userId, l]) => ({
      userId,
      connectionState: l.connectionState,
      polite: l.polite,
      iceRestarts: l.iceRestarts,
      stats: l.stats,
    }));
  }

  diagnostics() {
    const links: Record<string, ReturnType<PeerLink['diagnostics']>> = {};
    for (const [uid, l] of this.links) links[uid] = l.diagnostics();
    return { dropped: { ...this.dropped }, resets: this.resets, links };
  }

  link(userId: string): PeerLink | undefined {
    return this.links.get(userId);
  }

  async qualityStats(): Promise<KeyedStats[]> {
    const out = await Promise.all(
      [...this.links.entries()].map(async ([userId, l]) => {
        const report = await l.pc.getStats().catch(() => null);
        return report ? ({ key: userId, report } as KeyedStats) : null;
      }),
    );
    return out.filter((x): x is KeyedStats => x !== null);
  }

  async refreshStats() {
    await Promise.all([...this.links.values()].map((l) => l.refreshStats().catch(() => null)));
  }

  close() {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }
}
