import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/http';
import { hasPermission, Permission, type Channel, type Invite } from '../api/types';
import { guildChannels, isUnread, userName, voiceMembers } from '../state/state';
import { AnalyticsDialog } from './AnalyticsDialog';
import { Avatar, Dialog, Icon } from './Dialog';
import { useAppState, useStore, useStreams, useVoice } from './hooks';
import { liveUsers } from './StreamStage';
import { VoicePanel } from './VoicePanel';
import { UserBar } from './UserBar';

export function ChannelSidebar({ onOpenSettings }: { onOpenSettings: () => void }) {
  const state = useAppState((s) => s);
  const guildId = state.selectedGuild;
  const guild = guildId ? state.guilds[guildId] : null;
  const channels = guildChannels(state, guildId);
  const text = channels.filter((c) => c.kind === 'text');
  const voice = channels.filter((c) => c.kind === 'voice');
  const [dialog, setDialog] = useState<'invite' | 'channel' | 'analytics' | null>(null);
  const canInvite = hasPermission(guild?.my_permissions, Permission.CREATE_INVITE);
  const canManage = hasPermission(guild?.my_permissions, Permission.MANAGE_CHANNELS);
  const canSeeAnalytics = hasPermission(guild?.my_permissions, Permission.MANAGE_GUILD);

  return (
    <aside className="channel-sidebar" aria-label="Channels">
      <header className="sidebar-head">
        <h2 className="guild-name" title={guild?.name}>
          {guild?.name ?? 'No guild yet'}
        </h2>
        {guild && canSeeAnalytics && (
          <button type="button" className="icon-button" aria-label="Voice analytics" title="Voice analytics" onClick={() => setDialog('analytics')}>
            <Icon name="chart" />
          </button>
        )}
        {guild && canInvite && (
          <button type="button" className="icon-button" aria-label="Create invite" title="Create invite" onClick={() => setDialog('invite')}>
            <Icon name="invite" />
          </button>
        )}
      </header>
      <div className="channel-scroll">
        {!guild && <p className="muted pad">Create a guild or join one with an invite code, using the buttons on the left.</p>}
        {guild && (
          <>
            <ChannelGroup title="Text channels" onAdd={canManage ? () => setDialog('channel') : undefined}>
              {text.map((c) => (
                <TextChannelItem key={c.id} channel={c} />
              ))}
            </ChannelGroup>
            <ChannelGroup title="Voice channels">
              {voice.map((c) => (
                <VoiceChannelItem key={c.id} channel={c} />
              ))}
            </ChannelGroup>
          </>
        )}
      </div>
      <VoicePanel />
      <UserBar onOpenSettings={onOpenSettings} />
      {dialog === 'invite' && guildId && <InviteDialog guildId={guildId} onClose={() => setDialog(null)} />}
      {dialog === 'channel' && guildId && <CreateChannelDialog guildId={guildId} onClose={() => setDialog(null)} />}
      {dialog === 'analytics' && guildId && <AnalyticsDialog guildId={guildId} onClose={() => setDialog(null)} />}
    </aside>
  );
}

function ChannelGroup({ title, children, onAdd }: { title: string; children: React.ReactNode; onAdd?: () => void }) {
  return (
    <section className="channel-group" aria-label={title}>
      <h3>
        <span>{title}</span>
        {onAdd && (
          <button type="button" className="icon-button small" aria-label="Create channel" title="Create channel" onClick={onAdd}>
            <Icon name="plus" size={16} />
          </button>
        )}
      </h3>
      <ul role="list">{children}</ul>
    </section>
  );
}

function TextChannelItem({ channel }: { channel: Channel }) {
  const store = useStore();
  const selected = useAppState((s) => s.selectedGuild && s.selectedChannel[s.selectedGuild] === channel.id);
  const unread = useAppState((s) => isUnread(s, channel.id));
  return (
    <li>
      <button
        type="button"
        className={`channel${selected ? ' active' : ''}${unread && !selected ? ' unread' : ''}`}
        aria-current={selected ? 'page' : undefined}
        aria-label={`${channel.name}${unread && !selected ? ' (unread)' : ''}`}
        onClick={() => store.selectChannel(channel.id)}
      >
        <Icon name="hash" size={18} />
        <span className="channel-name">{channel.name}</span>
        {unread && !selected && <span className="unread-dot" aria-hidden="true" />}
      </button>
    </li>
  );
}

function VoiceChannelItem({ channel }: { channel: Channel }) {
  const store = useStore();
  const state = useAppState((s) => s);
  const voice = useVoice();
  const streams = useStreams();
  const members = voiceMembers(state, channel.id);
  const live = liveUsers(state, streams, channel.id);
  const here = voice.channelId === channel.id && voice.status !== 'idle';
  const join = () => {
    if (!here) void store.rtc.join(channel.id).catch(() => {});
  };
  return (
    <li className="voice-channel">
      <div className={`channel voice${here ? ' active' : ''}`}>
        <button type="button" className="channel-main" onClick={join} aria-label={`${channel.name} (voice channel${members.length ? `, ${members.length} connected` : ''})`}>
          <Icon name="speaker" size={18} />
          <span className="channel-name">{channel.name}</span>
        </button>
        {!here && (
          <button type="button" className="join-voice" aria-label="Join voice" title={`Join voice: ${channel.name}`} onClick={join}>
            Join
          </button>
        )}
      </div>
      {members.length > 0 && (
        <ul className="voice-members" aria-label={`In ${channel.name}`}>
          {members.map((m) => {
            const name = userName(state, m.user_id, channel.guild_id);
            const speaking = here && !!voice.speaking[m.user_id] && !m.self_mute;
            return (
              <li key={m.user_id} className={speaking ? 'speaking' : ''} data-user-id={m.user_id} data-speaking={speaking ? 'true' : 'false'}>
                <Avatar name={name} id={m.user_id} size={22} speaking={speaking} />
                <span className="voice-member-name">{name}</span>
                {speaking && <span className="sr-only"> (speaking)</span>}
                {live.has(m.user_id) && (
                  <span className="live-badge small" title="Sharing their screen">
                    LIVE
                  </span>
                )}
                {m.self_mute && (
                  <span className="state-icon" title="Muted" aria-label="muted" role="img">
                    <Icon name="micOff" size={14} />
                  </span>
                )}
                {m.self_deaf && (
                  <span className="state-icon" title="Deafened" aria-label="deafened" role="img">
                    <Icon name="headphonesOff" size={14} />
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </li>
  );
}

function InviteDialog({ guildId, onClose }: { guildId: string; onClose: () => void }) {
  const store = useStore();
  const [invite, setInvite] = useState<Invite | null>(null);
  const [error, setError] = useState('');
  const [copied, setCopied] = useState(false);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return; // StrictMode runs effects twice in development
    started.current = true;
    store.createInvite(guildId).then(setInvite, (e) => setError(e instanceof ApiError ? e.message : 'Could not create an invite.'));
  }, [store, guildId]);
  return (
    <Dialog title="Invite people" onClose={onClose}>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!invite && !error && <p role="status">Creating an invite…</p>}
      {invite && (
        <>
          <div className="field">
            <label htmlFor="invite-code">Invite code</label>
            <div className="copy-row">
              <input id="invite-code" readOnly value={invite.code} onFocus={(e) => e.currentTarget.select()} data-testid="invite-code" />
              <button
                type="button"
                className="primary"
                onClick={() => {
                  void navigator.clipboard?.writeText(invite.code).then(() => setCopied(true), () => {});
                }}
              >
                {copied ? 'Copied' : 'Copy'}
              </button>
            </div>
          </div>
          <p className="muted">{invite.expires_at ? `Expires ${new Date(invite.expires_at).toLocaleString()}.` : 'This code does not expire.'} Others paste it in “Join guild”.</p>
        </>
      )}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

function CreateChannelDialog({ guildId, onClose }: { guildId: string; onClose: () => void }) {
  const store = useStore();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'text' | 'voice'>('text');
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError('Give the channel a name.');
    try {
      const ch = await store.createChannel(guildId, name.trim(), kind);
      if (ch.kind === 'text') store.selectChannel(ch.id);
      onClose();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Could not create the channel.');
    }
  }
  return (
    <Dialog title="Create a channel" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <fieldset className="field">
          <legend>Channel type</legend>
          <label className="radio">
            <input type="radio" name="kind" checked={kind === 'text'} onChange={() => setKind('text')} /> Text
          </label>
          <label className="radio">
            <input type="radio" name="kind" checked={kind === 'voice'} onChange={() => setKind('voice')} /> Voice
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor="channel-name">Channel name</label>
          <input id="channel-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} autoFocus aria-invalid={!!error} />
          {error && (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Create channel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
