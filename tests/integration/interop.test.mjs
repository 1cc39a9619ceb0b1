// A second, independent WebRTC stack through the SFU: werift (pure TypeScript ICE, DTLS,
// SRTP) publishes pre-encoded Opus and subscribes, beside hype-bot. Its header extension ids
// and Opus payload type differ from hype-bot's (and Chromium's) in every position, so a SFU
// that forwards a publisher's ids or payload type to a subscriber that negotiated others
// shows here (issue 13, defect 2). Its first offer lacks the DTLS fingerprint: refused with
// invalid_sdp, and the corrected offer on the same socket connects (defect 3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import {
  RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, MediaStreamTrack,
  RtpPacket, RtpHeader,
} from 'werift';
import { startServer, api, register, sleep, HYPE_BIN } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
const skip = (!existsSync(BOT_BIN) && 'hype-bot not built') || (!hasFfmpeg() && 'ffmpeg missing');

const URI = {
  level: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  twcc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
};
// hype-bot: level 1, transport-cc 3, mid 4. Chromium: level 1, abs-send-time 2,
// transport-cc 3, mid 4. werift numbers its list 1, 2, 3, ... in order, so this order gives
// transport-cc 1, mid 2, level 3, abs-send-time 4: a different id for every URI.
const WERIFT_EXT_ORDER = [URI.twcc, URI.mid, URI.level, URI.absSendTime];
const WERIFT_OPUS_PT = 109;  // hype-bot and Chromium use 111

let server;
before(async () => { if (!skip) server = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1' }); });
after(async () => { await server?.stop(); });

function hasFfmpeg() {
  try { execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

// 20 ms Opus packets of a 440 Hz tone, from ffmpeg's Ogg output (the two header packets
// dropped). Ogg lacing: a packet continues while its segments are 255 bytes long.
function opusFrames(seconds) {
  const ogg = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`,
    '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', '-f', 'ogg', 'pipe:1'], { maxBuffer: 1 << 24 });
  const packets = [];
  let pending = [];
  for (let off = 0; off + 27 <= ogg.length;) {
    assert.equal(ogg.toString('latin1', off, off + 4), 'OggS');
    const nseg = ogg[off + 26];
    const table = ogg.subarray(off + 27, off + 27 + nseg);
    let p = off + 27 + nseg;
    for (const len of table) {
      pending.push(ogg.subarray(p, p + len));
      p += len;
      if (len < 255) { packets.push(Buffer.concat(pending)); pending = []; }
    }
    off = p;
  }
  return packets.slice(2);
}

// Opens /voice for `token` and returns helpers to talk to it.
async function voiceSocket(url, token, channelId) {
  const ws = new WebSocket(url);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const send = (op, d) => ws.send(JSON.stringify({ op, d }));
  const next = (pred, ms = 10000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; last frames ${JSON.stringify(frames.slice(-4).map((f) => f.op))}`)), ms);
    waiters.push({ pred, resolve: (f) => { clearTimeout(timer); resolve(f); } });
  });
  const ready = next((f) => f.op === 'ready');
  send('identify', { token, channel_id: channelId });
  await ready;
  return { ws, frames, send, next };
}

test('werift with its own extension ids and payload type hears hype-bot and is heard by it', { skip, timeout: 90000 }, async () => {
  const owner = await register(server, 'wrt');
  const guild = (await api(server, 'POST', '/guilds', { token: owner.token, body: { name: 'interop' } })).body;
  const voice = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: owner.token })).body.find((c) => c.kind === 'voice');
  const invite = (await api(server, 'POST', `/guilds/${guild.id}/invites`, { token: owner.token, body: {} })).body;
  const join = await api(server, 'POST', `/voice/join/${voice.id}`, { token: owner.token, body: {} });
  assert.equal(join.status, 200, JSON.stringify(join.body));
  const sig = await voiceSocket(join.body.sfu.url, join.body.voice_token, voice.id);

  const pc = new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: WERIFT_OPUS_PT })] },
    headerExtensions: { audio: WERIFT_EXT_ORDER.map((uri) => new RTCRtpHeaderExtensionParameters({ uri })) },
  });
  try {
    const ids = Object.fromEntries(pc.config.headerExtensions.audio.map((e) => [e.uri, e.id]));
    assert.deepEqual([ids[URI.twcc], ids[URI.mid], ids[URI.level], ids[URI.absSendTime]], [1, 2, 3, 4]);
    const negotiated = new Set(Object.values(ids));

    // Everything werift's receivers are handed, per transceiver mid.
    const received = [];
    pc.ontrack = ({ track, transceiver }) => {
      track.onReceiveRtp.subscribe((rtp) => received.push({ mid: transceiver.mid, header: rtp.header }));
    };
    // Server offers (new slots) are answered as they come.
    sig.ws.on('message', async (data) => {
      const f = JSON.parse(data.toString());
      if (f.op !== 'offer') return;
      await pc.setRemoteDescription({ type: 'offer', sdp: f.d.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      sig.send('answer', { sdp: pc.localDescription.sdp, version: f.d.version });
    });

    const track = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(track, { direction: 'sendrecv' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription.sdp;
    assert.match(offer, new RegExp(`a=rtpmap:${WERIFT_OPUS_PT} opus/48000/2`));

    // Defect 3: the same offer without its fingerprint is refused, nothing is set up ...
    const unsigned = offer.split('\r\n').filter((l) => !l.startsWith('a=fingerprint:')).join('\r\n');
    const refused = sig.next((f) => f.op === 'error' || f.op === 'answer');
    sig.send('offer', { sdp: unsigned });
    const err = await refused;
    assert.equal(err.op, 'error', 'an offer without a fingerprint must not be answered');
    assert.equal(err.d.code, 'invalid_sdp');
    assert.match(err.d.message, /fingerprint/);
    // ... and the corrected offer on the same socket connects.
    const answered = sig.next((f) => f.op === 'answer');
    const connected = sig.next((f) => f.op === 'connected', 20000);
    sig.send('offer', { sdp: offer });
    await pc.setRemoteDescription({ type: 'answer', sdp: (await answered).d.sdp });
    await connected;

    // Publish ~7 s of Opus at 20 ms, audio level under werift's own id.
    const frames = opusFrames(7);
    let stop = false;
    const publishing = (async () => {
      let seq = 1, ts = 0, t0 = Date.now();
      for (let i = 0; !stop; i++) {
        const header = new RtpHeader({ payloadType: WERIFT_OPUS_PT, sequenceNumber: seq, timestamp: ts, marker: i === 0,
          extensions: [{ id: ids[URI.level], payload: Buffer.from([0x80 | 20]) }] });
        track.writeRtp(new RtpPacket(header, frames[i % frames.length]));
        seq = (seq + 1) & 0xffff;
        ts = (ts + 960) >>> 0;
        const wait = t0 + (i + 1) * 20 - Date.now();
        if (wait > 0) await sleep(wait);
      }
    })();

    // hype-bot joins the same channel as a second user, talks and listens for 4 s.
    const bot = spawn(BOT_BIN, ['--server', server.url, '--json', '--count', '1', '--speakers', '1', '--duration', '4',
      '--continuous', '--channel', voice.id, '--invite', invite.code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', errOut = '';
    bot.stdout.on('data', (d) => { out += d; });
    bot.stderr.on('data', (d) => { errOut += d; });
    const code = await new Promise((r) => bot.once('exit', r));
    stop = true;
    await publishing;
    let report;
    try { report = JSON.parse(out.trim().split('\n').pop()); } catch { throw new Error(`hype-bot: ${out} ${errOut}`); }
    assert.deepEqual(report.errors, []);
    assert.equal(code, 0);
    assert.equal(report.connected, 1);

    // The bot heard werift (its user, through its slot).
    const heard = report.per_bot[0].heard;
    assert.ok(heard.includes(owner.id), `hype-bot heard ${JSON.stringify(heard)}, not werift's user ${owner.id}`);

    // werift heard the bot: its payload type, only the ids it negotiated, with values that
    // fit their URIs, and sdes:mid naming the m-section the packet arrived on.
    const fromBot = received.filter((r) => r.mid !== '0');
    assert.ok(fromBot.length >= 100, `werift received ${fromBot.length} packets from hype-bot`);
    for (const { mid, header } of fromBot) {
      assert.equal(header.payloadType, WERIFT_OPUS_PT);
      for (const e of header.extensions) {
        assert.ok(negotiated.has(e.id), `extension id ${e.id} was never negotiated by werift`);
        if (e.id === ids[URI.level]) assert.equal(e.payload.length, 1);
        if (e.id === ids[URI.twcc]) assert.equal(e.payload.length, 2);
        if (e.id === ids[URI.absSendTime]) assert.equal(e.payload.length, 3);
        if (e.id === ids[URI.mid]) assert.equal(e.payload.toString(), mid);
      }
      assert.ok(header.extensions.some((e) => e.id === ids[URI.mid]), 'sdes:mid present');
      assert.ok(header.extensions.some((e) => e.id === ids[URI.level]), 'audio level present');
    }
    const twcc = fromBot.map((r) => r.header.extensions.find((e) => e.id === ids[URI.twcc])?.payload.readUInt16BE(0));
    assert.ok(twcc.every((v) => v !== undefined), 'the SFU numbers transport-cc for werift');
  } finally {
    await pc.close();
    sig.ws.close();
  }
});
