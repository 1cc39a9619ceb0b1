// The in-page half of the mouth-to-ear harness (lib/mouth_to_ear.mjs), installed with
// context.addInitScript(installMouthToEar, options) before the web client loads. It is
// serialized into the page, so it must not use anything from this module's scope.
//
// - "Microphone": navigator.mediaDevices.getUserMedia({audio}) returns the track of a
//   MediaStreamAudioDestinationNode fed by an AudioWorklet that plays a marker train: a
//   30 ms tone burst every `periodMs`, its frequency cycling through `freqs` (the marker's id
//   modulo freqs.length), over a quiet warbling tone, so the client's voice-activity gate
//   stays open and Opus never goes to DTX (a talker who does not pause).
// - Clock: the worklet reports the context's frame counter every few render quanta; the
//   page stamps each report with performance.timeOrigin + performance.now() (one clock for
//   every page of the machine). The lower envelope of (wall - frame / rate) maps a frame to
//   the wall time at which it was rendered; message delays only ever add to it.
// - Detection: the same detector worklet listens to the generated signal (the emission
//   time, so the detector's own bias cancels) and to every remote audio track the page
//   receives (RTCPeerConnection is wrapped to see them): an onset is the first frame where
//   the 1 ms RMS exceeds a threshold; the next 10 ms identify the burst's frequency
//   (Goertzel), then the detector ignores 300 ms.
// - Test hooks on RTCPeerConnection (no product change): TURN URLs rewritten to go through
//   the relay (P2P), SFU candidates rewritten to the SFU's own port (the leg that bypasses
//   the relay), and codec preferences for RED on/off.
// - Latency levers to compare (tests/bench only, off by default): `jitterBufferTarget` (ms)
//   set on every audio receiver, `ptime` (ms) added as a=ptime to the audio sections of
//   every remote description, so the senders packetize that many ms per packet.
export function installMouthToEar(opts) {
  // Init scripts also run in the initial about:blank, which has no audio worklet.
  if (!location.protocol.startsWith('http') || !window.AudioWorkletNode) return;
  const o = {
    periodMs: 500,
    burstMs: 30,
    rampMs: 2,
    freqs: [500, 900, 1500, 2400],
    amp: 0.5,
    fillerAmp: 0.06,
    fillerHz: 220,
    threshold: 0.15,
    clkEvery: 4,
    red: 'default', // 'on' | 'off' | 'default'
    urlRewrite: null, // [from, to]: substrings of ICE server URLs (TURN through the relay)
    candidatePortRewrite: null, // [from, to]: ports in remote candidates (bypass the relay)
    jitterBufferTarget: null, // ms: RTCRtpReceiver.jitterBufferTarget of every audio receiver
    ptime: null, // ms: a=ptime in the audio sections of remote descriptions (what we send)
    audioContext: null, // options forced on every AudioContext the client creates (e.g. {sampleRate: 48000})
    directMic: false, // send the "microphone" track itself instead of the client's graph output (see below)
    settings: null, // voice settings merged into the client's stored ones (localStorage hype.settings)
    ...opts,
  };
  const WORKLET = `
class M2eGen extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.p = options.processorOptions;
    this.n = 0;
    this.q = 0;
    this.ph = 0;
  }
  process(inputs, outputs) {
    const p = this.p;
    const ch = outputs[0];
    const out = ch[0];
    if (this.q++ % p.clkEvery === 0) this.port.postMessage({ t: 'clk', frame: currentFrame });
    for (let i = 0; i < out.length; i++) {
      const n = this.n++;
      const k = Math.floor(n / p.period);
      const j = n - k * p.period;
      const f = p.fillerHz * (1 + 0.2 * Math.sin((2 * Math.PI * n) / sampleRate));
      this.ph += (2 * Math.PI * f) / sampleRate;
      if (this.ph > 2 * Math.PI) this.ph -= 2 * Math.PI;
      let v = p.fillerAmp * Math.sin(this.ph);
      if (k >= 1 && j < p.burst) {
        if (j === 0) this.port.postMessage({ t: 'emit', k, id: k % p.freqs.length, frame: currentFrame + i });
        const ramp = Math.min(1, j / p.ramp, (p.burst - 1 - j) / p.ramp);
        v += p.amp * ramp * Math.sin((2 * Math.PI * p.freqs[k % p.freqs.length] * j) / sampleRate);
      }
      out[i] = v;
    }
    for (let c = 1; c < ch.length; c++) ch[c].set(out);
    return true;
  }
}
class M2eDet extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const p = (this.p = options.processorOptions);
    this.win = Math.round(sampleRate / 1000);
    this.ring = new Float64Array(this.win);
    this.pos = 0;
    this.sum = 0;
    this.thr = p.threshold * p.threshold * this.win;
    this.gN = Math.round(sampleRate / 100);
    this.buf = new Float32Array(this.gN);
    this.cn = -1;
    this.onset = 0;
    this.hold = 0;
    this.refractory = Math.round(sampleRate * 0.3);
    this.peak = 0;
  }
  process(inputs) {
    const inp = inputs[0];
    if (!inp || !inp[0]) return true;
    const x = inp[0];
    for (let i = 0; i < x.length; i++) {
      const s = x[i];
      const sq = s * s;
      this.sum += sq - this.ring[this.pos];
      this.ring[this.pos] = sq;
      this.pos = (this.pos + 1) % this.win;
      const f = currentFrame + i;
      if (this.cn >= 0) {
        this.buf[this.cn++] = s;
        if (Math.abs(s) > this.peak) this.peak = Math.abs(s);
        if (this.cn === this.gN) {
          const pw = this.p.freqs.map((hz) => {
            const c = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
            let s1 = 0, s2 = 0;
            for (let m = 0; m < this.gN; m++) {
              const s0 = this.buf[m] + c * s1 - s2;
              s2 = s1;
              s1 = s0;
            }
            return s1 * s1 + s2 * s2 - c * s1 * s2;
          });
          let best = 0;
          for (let m = 1; m < pw.length; m++) if (pw[m] > pw[best]) best = m;
          const rest = Math.max(1e-12, ...pw.filter((_, m) => m !== best));
          this.port.postMessage({ t: 'onset', label: this.p.label, frame: this.onset, id: best, ratio: pw[best] / rest, peak: this.peak });
          this.cn = -1;
        }
      } else if (f >= this.hold && this.sum > this.thr) {
        this.onset = f;
        this.hold = f + this.refractory;
        this.cn = 0;
        this.peak = 0;
      }
    }
    if (this.sum < 0) this.sum = 0;
    return true;
  }
}
registerProcessor('m2e-gen', M2eGen);
registerProcessor('m2e-det', M2eDet);
`;
  if (o.settings) {
    let stored = {};
    try {
      stored = JSON.parse(localStorage.getItem('hype.settings') ?? '{}') ?? {};
    } catch {}
    localStorage.setItem('hype.settings', JSON.stringify({ ...stored, ...o.settings }));
  }
  const now = () => performance.timeOrigin + performance.now();
  const M = {
    opts: o,
    clk: [],
    emits: [],
    local: [],
    remote: [],
    loop: [],
    taps: [],
    pcs: [],
    errors: [],
    ctx: null,
    ready: null,
  };
  window.__m2e = M;

  const onMessage = (e) => {
    const w = now();
    const d = e.data;
    if (d.t === 'clk') M.clk.push([d.frame, w]);
    else if (d.t === 'emit') M.emits.push({ ...d, posted: w });
    else if (d.t === 'onset') M[d.label].push({ ...d, posted: w });
  };
  const detector = (label) => {
    const node = new AudioWorkletNode(M.ctx, 'm2e-det', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
      processorOptions: { label, threshold: o.threshold, freqs: o.freqs },
    });
    node.port.onmessage = onMessage;
    return node;
  };
  // One context per page: the generator, its local detector and the remote taps share one
  // frame counter, so one clock map serves all of them.
  const RealAudioContext = window.AudioContext;
  const setup = async () => {
    const ctx = (M.ctx = new RealAudioContext({ sampleRate: 48000, latencyHint: 'interactive' }));
    const url = URL.createObjectURL(new Blob([WORKLET], { type: 'application/javascript' }));
    await ctx.audioWorklet.addModule(url);
    const sr = ctx.sampleRate;
    const gen = new AudioWorkletNode(ctx, 'm2e-gen', {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: {
        period: Math.round((o.periodMs * sr) / 1000),
        burst: Math.round((o.burstMs * sr) / 1000),
        ramp: Math.round((o.rampMs * sr) / 1000),
        freqs: o.freqs,
        amp: o.amp,
        fillerAmp: o.fillerAmp,
        fillerHz: o.fillerHz,
        clkEvery: o.clkEvery,
      },
    });
    gen.port.onmessage = onMessage;
    const dest = ctx.createMediaStreamDestination();
    gen.connect(dest);
    gen.connect(detector('local'));
    // Diagnostic: one MediaStream -> WebAudio hop (what the harness adds on the listening side).
    ctx.createMediaStreamSource(dest.stream).connect(detector('loop'));
    M.dest = dest;
    if (ctx.state !== 'running') await ctx.resume().catch(() => {});
    return ctx;
  };
  M.ready = setup().catch((e) => {
    M.errors.push(String(e));
    throw e;
  });
  if (o.audioContext) {
    window.AudioContext = class extends RealAudioContext {
      constructor(options) {
        super({ ...options, ...o.audioContext });
        M.clientContexts = [...(M.clientContexts ?? []), { sampleRate: this.sampleRate, baseLatency: this.baseLatency }];
      }
    };
  }

  const realGum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (!constraints?.audio || constraints.video) return realGum(constraints);
    await M.ready;
    // A clone per call: the client stops the tracks it replaces.
    return new MediaStream([M.dest.stream.getAudioTracks()[0].clone()]);
  };

  const tap = async (track) => {
    await M.ready;
    if (M.taps.some((t) => t.id === track.id)) return;
    const src = M.ctx.createMediaStreamSource(new MediaStream([track]));
    src.connect(detector('remote'));
    M.taps.push({ id: track.id, src });
  };
  /** Detects onsets on any track as `label` (bench/voice/m2e_floor.mjs). */
  M.listen = async (track, label) => {
    await M.ready;
    M[label] ??= [];
    const src = M.ctx.createMediaStreamSource(new MediaStream([track]));
    src.connect(detector(label));
    M.taps.push({ id: track.id, src, label });
  };

  const codecPrefs = (pc) => {
    if (o.red === 'default' || !globalThis.RTCRtpReceiver?.getCapabilities) return;
    const all = RTCRtpReceiver.getCapabilities('audio')?.codecs ?? [];
    const red = all.filter((c) => c.mimeType.toLowerCase() === 'audio/red');
    const rest = all.filter((c) => c.mimeType.toLowerCase() !== 'audio/red');
    const list = o.red === 'on' ? [...red, ...rest] : rest;
    for (const t of pc.getTransceivers()) {
      if (t.stopped || (t.receiver.track?.kind ?? '') !== 'audio') continue;
      try {
        t.setCodecPreferences(list);
      } catch (e) {
        M.errors.push('setCodecPreferences: ' + e);
      }
    }
  };
  const addPtime = (sdp) => {
    const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
    return sdp
      .split(new RegExp(`${eol}(?=m=)`))
      .map((sec) => (sec.startsWith('m=audio') ? sec.replace(/(\r?\n)a=ptime:\d+/g, '').replace(/(\r?\n)(a=rtpmap:)/, `$1a=ptime:${o.ptime}$1$2`) : sec))
      .join(eol);
  };
  const rewriteCandidates = (text) => {
    if (!o.candidatePortRewrite || !text) return text;
    const [from, to] = o.candidatePortRewrite;
    return text.replace(new RegExp(`(candidate:\\S+ \\d+ udp \\d+ \\S+ )${from}( typ)`, 'gi'), `$1${to}$2`);
  };

  // directMic: every audio track the client hands to a connection (its microphone graph's
  // MediaStreamDestination track) is replaced by a clone of the "microphone" track itself,
  // what sending getUserMedia's track directly would do (the client's gain and gate are
  // bypassed; the marker train never pauses, so the gate stays open anyway).
  const sendable = (track) => {
    if (!o.directMic || !track || track.kind !== 'audio' || !M.dest) return track;
    M.directTrack ??= M.dest.stream.getAudioTracks()[0].clone();
    return M.directTrack;
  };
  if (o.directMic) {
    const realReplace = RTCRtpSender.prototype.replaceTrack;
    RTCRtpSender.prototype.replaceTrack = function (track) {
      return realReplace.call(this, sendable(track));
    };
  }
  const Real = window.RTCPeerConnection;
  class HarnessPeerConnection extends Real {
    constructor(config, ...rest) {
      let cfg = config;
      if (cfg?.iceServers && o.urlRewrite) {
        const [from, to] = o.urlRewrite;
        cfg = { ...cfg, iceServers: cfg.iceServers.map((s) => ({ ...s, urls: [].concat(s.urls).map((u) => u.split(from).join(to)) })) };
      }
      super(cfg, ...rest);
      M.pcs.push(this);
      this.addEventListener('track', (ev) => {
        if (ev.track.kind !== 'audio') return;
        if (o.jitterBufferTarget !== null) {
          try {
            ev.receiver.jitterBufferTarget = o.jitterBufferTarget;
          } catch (e) {
            M.errors.push('jitterBufferTarget: ' + e);
          }
        }
        void tap(ev.track).catch((e) => M.errors.push('tap: ' + e));
      });
    }
    addTrack(track, ...streams) {
      return super.addTrack(sendable(track), ...streams);
    }
    addTransceiver(trackOrKind, ...rest) {
      return super.addTransceiver(typeof trackOrKind === 'string' ? trackOrKind : sendable(trackOrKind), ...rest);
    }
    createOffer(...a) {
      codecPrefs(this);
      return super.createOffer(...a);
    }
    createAnswer(...a) {
      codecPrefs(this);
      return super.createAnswer(...a);
    }
    setRemoteDescription(d, ...rest) {
      if (d?.sdp && o.candidatePortRewrite) d = { type: d.type, sdp: rewriteCandidates(d.sdp) };
      if (d?.sdp && o.ptime) d = { type: d.type, sdp: addPtime(d.sdp) };
      return super.setRemoteDescription(d, ...rest);
    }
    addIceCandidate(c, ...rest) {
      if (c?.candidate && o.candidatePortRewrite) c = { ...(typeof c.toJSON === 'function' ? c.toJSON() : c), candidate: rewriteCandidates(c.candidate) };
      return super.addIceCandidate(c, ...rest);
    }
  }
  window.RTCPeerConnection = HarnessPeerConnection;

  /** Inbound and outbound audio counters of every live connection, summed. */
  M.rtpStats = async () => {
    const out = { inbound: [], outbound: [] };
    for (const pc of M.pcs) {
      if (pc.connectionState === 'closed') continue;
      const r = await pc.getStats();
      const codec = (id) => (id ? r.get(id)?.mimeType : undefined);
      r.forEach((s) => {
        if (s.kind !== 'audio') return;
        if (s.type === 'inbound-rtp' && s.packetsReceived > 0)
          out.inbound.push({
            codec: codec(s.codecId),
            packetsReceived: s.packetsReceived,
            packetsLost: s.packetsLost,
            concealedSamples: s.concealedSamples,
            silentConcealedSamples: s.silentConcealedSamples,
            concealmentEvents: s.concealmentEvents,
            totalSamplesReceived: s.totalSamplesReceived,
            fecPacketsReceived: s.fecPacketsReceived,
            jitterBufferDelay: s.jitterBufferDelay,
            jitterBufferTargetDelay: s.jitterBufferTargetDelay,
            jitterBufferEmittedCount: s.jitterBufferEmittedCount,
            jitterBufferMinimumDelay: s.jitterBufferMinimumDelay,
            receiverJitterBufferTarget: pc.getReceivers().find((r) => r.track?.id === s.trackIdentifier)?.jitterBufferTarget ?? null,
            nackCount: s.nackCount,
          });
        if (s.type === 'outbound-rtp' && s.packetsSent > 0)
          out.outbound.push({ codec: codec(s.codecId), packetsSent: s.packetsSent, retransmittedPacketsSent: s.retransmittedPacketsSent, timestamp: s.timestamp });
      });
    }
    return out;
  };
  /** First codec of each audio section: what we send (remote description) and are sent (local). */
  M.codecOrder = () =>
    M.pcs
      .filter((pc) => pc.connectionState !== 'closed' && pc.currentRemoteDescription)
      .map((pc) => {
        const first = (sdp) =>
          sdp
            .split(/\r?\n(?=m=)/)
            .filter((sec) => sec.startsWith('m=audio'))
            .map((sec) => {
              const pt = sec.split(/\r?\n/)[0].split(' ')[3];
              const dir = (sec.match(/a=(sendrecv|sendonly|recvonly|inactive)/) ?? [])[1];
              const name = (sec.match(new RegExp(`a=rtpmap:${pt} ([^/]+)`)) ?? [])[1];
              return { name, dir };
            });
        return { local: first(pc.currentLocalDescription.sdp), remote: first(pc.currentRemoteDescription.sdp), offeredRed: /a=rtpmap:\d+ red\/48000/.test(pc.currentLocalDescription.sdp) };
      });
  M.dump = () => ({
    sampleRate: M.ctx?.sampleRate,
    baseLatency: M.ctx?.baseLatency,
    outputLatency: M.ctx?.outputLatency,
    clk: M.clk,
    emits: M.emits,
    local: M.local,
    remote: M.remote,
    loop: M.loop,
    codecOrder: M.codecOrder(),
    taps: M.taps.length,
    errors: M.errors,
    skewMs: Date.now() - now(),
  });
}
