// SDP munging for voice: ask for Opus DTX (no packets during silence) and in-band FEC
// (recovers single lost packets) by setting usedtx=1;useinbandfec=1 in the Opus fmtp line;
// and the Opus packet length we send (a=ptime in the peer's description, see setAudioPtime).

/**
 * Opus packet length (ms) a P2P client sends: the frame length Chromium takes from a=ptime in
 * the remote description. 10 ms packets take 4-21 ms off p95 mouth-to-ear on a jittery link
 * (smaller packetization and jitter buffer steps) for twice the packets; docs/benchmarks.md,
 * issue 19, 2026-12-07. The SFU asks the same of its clients (sfu.audio_ptime).
 */
export const P2P_AUDIO_PTIME_MS = 10;

/**
 * `sdp` with `a=ptime:<ms>` in every audio m-section (replacing one it had): set on a remote
 * description, it makes this browser encode Opus in `ms` frames. Other sections unchanged.
 */
export function setAudioPtime(sdp: string, ms: number): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const sections = sdp.split(new RegExp(`${eol}(?=m=)`));
  return sections
    .map((sec) => {
      // Audio sections only, and not rejected ones (port 0).
      if (!sec.startsWith('m=audio') || sec.startsWith('m=audio 0 ')) return sec;
      const lines = sec.split(eol).filter((l) => !/^a=ptime:/.test(l));
      // After the m-line and its c-line, before the attributes.
      let at = 1;
      while (at < lines.length && /^[bci]=/.test(lines[at])) at++;
      lines.splice(at, 0, `a=ptime:${ms}`);
      return lines.join(eol);
    })
    .join(eol);
}

export function setOpusParams(sdp: string, params: Record<string, string | number> = { usedtx: 1, useinbandfec: 1 }): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const opusPts = new Set<string>();
  for (const l of lines) {
    const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(l);
    if (m) opusPts.add(m[1]);
  }
  if (opusPts.size === 0) return sdp;
  const seenFmtp = new Set<string>();
  const out: string[] = [];
  for (const l of lines) {
    const f = /^a=fmtp:(\d+) (.*)$/.exec(l);
    if (f && opusPts.has(f[1])) {
      seenFmtp.add(f[1]);
      out.push(`a=fmtp:${f[1]} ${mergeParams(f[2], params)}`);
      continue;
    }
    out.push(l);
  }
  // Add an fmtp line after the rtpmap for payload types that had none.
  const result: string[] = [];
  for (const l of out) {
    result.push(l);
    const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(l);
    if (m && !seenFmtp.has(m[1])) result.push(`a=fmtp:${m[1]} ${mergeParams('', params)}`);
  }
  return result.join(eol);
}

function mergeParams(existing: string, params: Record<string, string | number>): string {
  const entries: [string, string][] = existing
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
    });
  for (const [k, v] of Object.entries(params)) {
    const idx = entries.findIndex(([ek]) => ek.toLowerCase() === k.toLowerCase());
    if (idx >= 0) entries[idx] = [entries[idx][0], String(v)];
    else entries.push([k, String(v)]);
  }
  return entries.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';');
}

/** Reads the Opus fmtp parameters of an SDP (for tests and diagnostics). */
export function opusParams(sdp: string): Record<string, string> {
  const pt = /a=rtpmap:(\d+) opus\/48000/i.exec(sdp)?.[1];
  if (!pt) return {};
  const line = new RegExp(`a=fmtp:${pt} (.*)`).exec(sdp)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const p of line.split(';')) {
    const [k, v = ''] = p.trim().split('=');
    if (k) out[k] = v;
  }
  return out;
}

/**
 * Adds generic NACK feedback (`a=rtcp-fb:PT nack`) to every Opus payload type that lacks it,
 * so the SFU may ask for lost audio again and the sender keeps what it sent to answer it
 * (Chromium negotiates NACK for audio only when the SDP says so; it offers none itself).
 * With `remote` (the offer being answered), only the payload types it offered NACK for.
 */
export function addOpusNack(sdp: string, remote?: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const opus = new Set<string>();
  const has = new Set<string>();
  for (const l of lines) {
    const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(l);
    if (m) opus.add(m[1]);
    const f = /^a=rtcp-fb:(\d+) nack$/.exec(l);
    if (f) has.add(f[1]);
  }
  const wanted = (pt: string) => opus.has(pt) && !has.has(pt) && (remote === undefined || new RegExp(`^a=rtcp-fb:${pt} nack\\r?$`, 'm').test(remote));
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    // After the payload type's last rtcp-fb line, or its rtpmap when it has none.
    const m = /^a=(?:rtpmap|rtcp-fb):(\d+) /.exec(lines[i]);
    if (!m || !wanted(m[1])) continue;
    const next = lines[i + 1] ?? '';
    if (new RegExp(`^a=rtcp-fb:${m[1]} `).test(next)) continue;
    out.push(`a=rtcp-fb:${m[1]} nack`);
    has.add(m[1]);
  }
  return out.join(eol);
}
