import { describe, expect, it } from 'vitest';
import { emptyChannel } from './messages';
import { applyDispatch, guildChannels, initialState, isUnread, voiceMembers, type AppState } from './state';

const me = { id: '1', username: 'me' };
const bob = { id: '2', username: 'bob' };
function ready(): AppState {
  return applyDispatch(initialState(), 'READY', {
    session_id: 's',
    user: me,
    guilds: [
      {
        id: 'g',
        name: 'G',
        owner_id: '1',
        created_at: '',
        channels: [
          { id: 'v', guild_id: 'g', name: 'General', kind: 'voice', position: 1 },
          { id: 't', guild_id: 'g', name: 'general', kind: 'text', position: 0 },
        ],
        members: [
          { guild_id: 'g', user: me, roles: [], joined_at: '' },
          { guild_id: 'g', user: bob, roles: [], joined_at: '' },
        ],
        voice_states: [{ guild_id: 'g', channel_id: 'v', user_id: '2', self_mute: false, self_deaf: false }],
        my_permissions: '1023',
      },
    ],
    presences: [{ user_id: '2', status: 'online' }],
  });
}
const msg = (id: string, author = bob) => ({ id, channel_id: 't', guild_id: 'g', author_id: author.id, author, content: 'hi', created_at: '2026-01-01T00:00:00Z', edited_at: null });

describe('applyDispatch', () => {
  it('READY fills guilds, channels, members, presences and voice states', () => {
    const s = ready();
    expect(s.me).toEqual(me);
    expect(s.selectedGuild).toBe('g');
    expect(guildChannels(s, 'g').map((c) => c.id)).toEqual(['t', 'v']);
    expect(Object.keys(s.members.g)).toEqual(['1', '2']);
    expect(s.presences).toEqual({ '1': 'online', '2': 'online' });
    expect(voiceMembers(s, 'v').map((v) => v.user_id)).toEqual(['2']);
  });

  it('messages: create/update/delete apply to opened channels, unread tracks the rest', () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', msg('10'));
    expect(s.messages.t).toBeUndefined(); // never opened
    expect(isUnread(s, 't')).toBe(true);
    s = { ...s, messages: { t: { ...emptyChannel(), loaded: true, hasMoreBefore: false } }, lastRead: { t: '10' } };
    expect(isUnread(s, 't')).toBe(false);
    s = applyDispatch(s, 'MESSAGE_CREATE', msg('11'));
    expect(s.messages.t.items.map((m) => m.id)).toEqual(['11']);
    s = applyDispatch(s, 'MESSAGE_UPDATE', { ...msg('11'), content: 'edited', edited_at: '2026-01-01T00:01:00Z' });
    expect(s.messages.t.items[0].content).toBe('edited');
    s = applyDispatch(s, 'MESSAGE_DELETE', { id: '11', channel_id: 't', guild_id: 'g' });
    expect(s.messages.t.items).toEqual([]);
  });

  it('the echo of our own send replaces the pending copy by nonce, never by text', () => {
    let s = ready();
    const pending = (n: string) => ({ ...msg(`pending-${n}`, me), nonce: n, state: 'sending' as const, content: 'yo' });
    s = { ...s, messages: { t: { ...emptyChannel(), loaded: true, hasMoreBefore: false, items: [pending('n1'), pending('n2')] } } };
    // The same words sent from another device (no nonce of ours) confirm nothing here.
    s = applyDispatch(s, 'MESSAGE_CREATE', { ...msg('19', me), content: 'yo' });
    expect(s.messages.t.items.map((m) => [m.id, m.state])).toEqual([
      ['19', undefined],
      ['pending-n1', 'sending'],
      ['pending-n2', 'sending'],
    ]);
    // The second of two identical sends is confirmed first: its own pending copy goes.
    s = applyDispatch(s, 'MESSAGE_CREATE', { ...msg('20', me), content: 'yo', nonce: 'n2' });
    expect(s.messages.t.items.map((m) => [m.id, m.state])).toEqual([
      ['19', undefined],
      ['20', undefined],
      ['pending-n1', 'sending'],
    ]);
  });

  it('own messages count as read', () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', msg('12', me));
    expect(isUnread(s, 't')).toBe(false);
  });

  it('typing shows until the message arrives', () => {
    let s = ready();
    s = applyDispatch(s, 'TYPING_START', { channel_id: 't', guild_id: 'g', user_id: '2', timestamp: 0 }, 1000);
    expect(s.typing.t['2']).toBe(11_000);
    s = applyDispatch(s, 'MESSAGE_CREATE', msg('13'));
    expect(s.typing.t['2']).toBeUndefined();
    const own = applyDispatch(s, 'TYPING_START', { channel_id: 't', guild_id: 'g', user_id: '1' });
    expect(own).toBe(s);
  });

  it('voice states: join, mute, leave (channel_id null)', () => {
    let s = ready();
    s = applyDispatch(s, 'VOICE_STATE_UPDATE', { guild_id: 'g', channel_id: 'v', user_id: '1', self_mute: true, self_deaf: false });
    expect(voiceMembers(s, 'v').map((v) => [v.user_id, v.self_mute])).toEqual([
      ['1', true],
      ['2', false],
    ]);
    s = applyDispatch(s, 'VOICE_STATE_UPDATE', { guild_id: 'g', channel_id: null, user_id: '2', self_mute: false, self_deaf: false });
    expect(voiceMembers(s, 'v').map((v) => v.user_id)).toEqual(['1']);
  });

  it('members, presence, channels and guild removal', () => {
    let s = ready();
    const carol = { id: '3', username: 'carol' };
    s = applyDispatch(s, 'GUILD_MEMBER_ADD', { guild_id: 'g', user: carol, roles: [], joined_at: '' });
    s = applyDispatch(s, 'PRESENCE_UPDATE', { user_id: '3', status: 'idle' });
    expect(s.members.g['3'].user.username).toBe('carol');
    expect(s.presences['3']).toBe('idle');
    s = applyDispatch(s, 'GUILD_MEMBER_REMOVE', { guild_id: 'g', user: carol });
    expect(s.members.g['3']).toBeUndefined();
    s = applyDispatch(s, 'CHANNEL_CREATE', { id: 'x', guild_id: 'g', name: 'random', kind: 'text', position: 2 });
    expect(guildChannels(s, 'g').map((c) => c.id)).toEqual(['t', 'v', 'x']);
    s = applyDispatch(s, 'CHANNEL_DELETE', { id: 'x', guild_id: 'g' });
    expect(s.channels.x).toBeUndefined();
    s = applyDispatch(s, 'GUILD_MEMBER_REMOVE', { guild_id: 'g', user: me }); // kicked: guild goes
    expect(s.guilds.g).toBeUndefined();
    expect(s.selectedGuild).toBeNull();
    expect(s.channels.t).toBeUndefined();
  });

  it('unknown events leave the state unchanged', () => {
    const s = ready();
    expect(applyDispatch(s, 'SOMETHING_NEW', {})).toBe(s);
  });
});
