// Audio codec order for P2P connections. Chromium offers RED (RFC 2198: each packet carries
// the previous Opus frame again) after Opus, so two Chromiums settle on plain Opus unless one
// of them puts RED first. On a lossy path RED turns most single losses into nothing heard
// (docs/benchmarks.md, issue 19, 2026-12-06: P2P `mobile`, 2 % loss, concealed audio
// 2.0-2.6 % without it, under 0.1 % with it) for 0-20 ms more jitter buffer. The SFU path
// needs none of this: the SFU's offers put RED first themselves.

type Codec = { mimeType: string };

const isRed = (c: Codec) => c.mimeType.toLowerCase() === 'audio/red';

/** `codecs` with RED first, the rest in their order; unchanged when there is no RED. */
export function redFirst<T extends Codec>(codecs: readonly T[]): T[] {
  return [...codecs.filter(isRed), ...codecs.filter((c) => !isRed(c))];
}

/**
 * Puts RED first in the codec preferences of `sender`'s transceiver, so offers and answers
 * list it first and the peers send Opus in RED. False (nothing changed) where the browser
 * has no RED, no setCodecPreferences, or refuses the list.
 */
export function preferRed(pc: RTCPeerConnection, sender: RTCRtpSender, caps: { codecs: Codec[] } | null | undefined = globalThis.RTCRtpReceiver?.getCapabilities?.('audio')): boolean {
  const codecs = caps?.codecs ?? [];
  if (!codecs.some(isRed)) return false;
  const transceiver = pc.getTransceivers?.().find((t) => t.sender === sender);
  if (!transceiver?.setCodecPreferences) return false;
  try {
    transceiver.setCodecPreferences(redFirst(codecs) as RTCRtpCodec[]);
    return true;
  } catch {
    return false;
  }
}
