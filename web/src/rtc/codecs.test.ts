import { describe, expect, it } from 'vitest';
import { preferRed, redFirst } from './codecs';

// Chromium 156's receiver capabilities for audio, in its order (RED after Opus).
const CAPS = { codecs: [{ mimeType: 'audio/opus' }, { mimeType: 'audio/red' }, { mimeType: 'audio/G722' }, { mimeType: 'audio/PCMU' }, { mimeType: 'audio/telephone-event' }] };

function fakePc(setCodecPreferences?: (c: unknown[]) => void) {
  const sender = {} as RTCRtpSender;
  const other = {} as RTCRtpSender;
  const set: { sender: RTCRtpSender; prefs: unknown[] | null }[] = [
    { sender: other, prefs: null },
    { sender, prefs: null },
  ];
  const pc = {
    getTransceivers: () =>
      set.map((t) => ({
        sender: t.sender,
        setCodecPreferences:
          setCodecPreferences ??
          ((c: unknown[]) => {
            t.prefs = c;
          }),
      })),
  } as unknown as RTCPeerConnection;
  return { pc, sender, set };
}

describe('redFirst', () => {
  it('moves RED ahead of Opus and keeps the rest in order', () => {
    expect(redFirst(CAPS.codecs).map((c) => c.mimeType)).toEqual(['audio/red', 'audio/opus', 'audio/G722', 'audio/PCMU', 'audio/telephone-event']);
  });
  it('matches the MIME type whatever its case, and leaves a list without RED as it is', () => {
    expect(redFirst([{ mimeType: 'audio/opus' }, { mimeType: 'AUDIO/RED' }]).map((c) => c.mimeType)).toEqual(['AUDIO/RED', 'audio/opus']);
    expect(redFirst([{ mimeType: 'audio/opus' }, { mimeType: 'audio/PCMU' }]).map((c) => c.mimeType)).toEqual(['audio/opus', 'audio/PCMU']);
  });
});

describe('preferRed', () => {
  it("sets RED first on the sender's own transceiver only", () => {
    const { pc, sender, set } = fakePc();
    expect(preferRed(pc, sender, CAPS)).toBe(true);
    expect(set[0].prefs).toBeNull();
    expect((set[1].prefs as { mimeType: string }[]).map((c) => c.mimeType)).toEqual(['audio/red', 'audio/opus', 'audio/G722', 'audio/PCMU', 'audio/telephone-event']);
  });
  it('changes nothing without RED, without the API, or when the browser refuses', () => {
    const { pc, sender, set } = fakePc();
    expect(preferRed(pc, sender, { codecs: [{ mimeType: 'audio/opus' }] })).toBe(false);
    expect(preferRed(pc, sender, null)).toBe(false);
    expect(set[1].prefs).toBeNull();
    expect(preferRed({} as RTCPeerConnection, sender, CAPS)).toBe(false);
    const refusing = fakePc(() => {
      throw new DOMException('InvalidModificationError');
    });
    expect(preferRed(refusing.pc, refusing.sender, CAPS)).toBe(false);
  });
});
