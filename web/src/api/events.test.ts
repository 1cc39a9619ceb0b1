import { describe, expect, it } from 'vitest';
import { applyDispatch, initialState } from '../state/state';
import { isGatewayEvent, toDispatch, type GatewayDispatch } from './events';

describe('gateway events', () => {
  it('types the events of the dispatch table and leaves unknown ones out', () => {
    for (const t of ['READY', 'GUILD_CREATE', 'CHANNEL_DELETE', 'VOICE_MODE_UPDATE', 'VOICE_SIGNAL', 'RESUMED']) expect(isGatewayEvent(t)).toBe(true);
    for (const t of ['SOMETHING_NEW', 'ready', '', 'toString', '__proto__']) expect(isGatewayEvent(t)).toBe(false);
    expect(toDispatch('SOMETHING_NEW', {})).toBeNull();
    expect(toDispatch('PRESENCE_UPDATE', { user_id: '2', status: 'idle' })).toEqual({ t: 'PRESENCE_UPDATE', d: { user_id: '2', status: 'idle' } });
  });

  it('narrows the payload by name (checked by tsc)', () => {
    const ev = toDispatch('VOICE_MODE_UPDATE', { guild_id: '1', channel_id: '10', mode: 'sfu' }) as GatewayDispatch;
    let mode: 'p2p' | 'sfu' | null = null;
    if (ev.t === 'VOICE_MODE_UPDATE') mode = ev.d.mode;
    expect(mode).toBe('sfu');
    const s = initialState();
    // Payloads that do not match their event do not compile (never run):
    const _wrong = () => [
      // @ts-expect-error status is missing
      applyDispatch(s, 'PRESENCE_UPDATE', { user_id: '2' }),
      // @ts-expect-error a message needs more than an id
      applyDispatch(s, 'MESSAGE_CREATE', { id: '1' }),
      // @ts-expect-error mode is p2p or sfu
      applyDispatch(s, 'VOICE_MODE_UPDATE', { guild_id: '1', channel_id: '10', mode: 'mesh' }),
    ];
    expect(typeof _wrong).toBe('function');
    // ...while events this client does not know take anything.
    expect(applyDispatch(s, 'SOMETHING_NEW', { any: 'thing' })).toBe(s);
  });
});
