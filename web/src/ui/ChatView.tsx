import { useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { hasPermission, Permission, type Id } from '../api/types';
import { groupMessages, formatDay, formatTime } from '../state/grouping';
import type { ChatMessage } from '../state/messages';
import { userName } from '../state/state';
import { isBlank } from '../state/text';
import { Avatar, Icon, ModalContext } from './Dialog';
import { useAppState, useStore } from './hooks';
import { StreamStage } from './StreamStage';

interface Props {
  navOpen: boolean;
  onToggleNav: () => void;
  membersOpen: boolean;
  onToggleMembers: () => void;
}

export function ChatView({ navOpen, onToggleNav, membersOpen, onToggleMembers }: Props) {
  const guildId = useAppState((s) => s.selectedGuild);
  const channelId = useAppState((s) => (s.selectedGuild ? (s.selectedChannel[s.selectedGuild] ?? null) : null));
  const channel = useAppState((s) => (channelId ? s.channels[channelId] : undefined));
  return (
    <main className="chat" aria-label="Chat">
      <header className="chat-head">
        <button type="button" className="icon-button nav-toggle" aria-label="Open channels" aria-expanded={navOpen} aria-controls="nav-drawer" onClick={onToggleNav}>
          <Icon name="menu" />
        </button>
        <h1 className="chat-title">
          {channel ? (
            <>
              <Icon name="hash" size={20} /> {channel.name}
            </>
          ) : (
            'Hype'
          )}
        </h1>
        {channel?.topic && <p className="chat-topic muted">{channel.topic}</p>}
        <span className="spacer" />
        {guildId && (
          <button type="button" className={`icon-button${membersOpen ? ' selected' : ''}`} aria-label="Members" aria-pressed={membersOpen} title="Member list" onClick={onToggleMembers}>
            <Icon name="users" />
          </button>
        )}
      </header>
      <StreamStage />
      {channel && channelId ? <ChannelBody key={channelId} channelId={channelId} /> : <EmptyState />}
    </main>
  );
}

function EmptyState() {
  const hasGuild = useAppState((s) => s.guildOrder.length > 0);
  return (
    <div className="empty-state">
      <h2>{hasGuild ? 'No text channel here yet' : 'You are not in a guild yet'}</h2>
      <p className="muted">{hasGuild ? 'Pick a channel on the left.' : 'Create a guild, or paste an invite code with “Join guild”.'}</p>
    </div>
  );
}

function ChannelBody({ channelId }: { channelId: Id }) {
  const store = useStore();
  const channel = useAppState((s) => s.channels[channelId]);
  const messages = useAppState((s) => s.messages[channelId]);
  const me = useAppState((s) => s.me);
  const perms = useAppState((s) => s.guilds[channel.guild_id]?.my_permissions);
  // The unread divider stays where it was when the channel was opened.
  const [readMarker] = useState(() => store.getState().lastRead[channelId] ?? null);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prevFirst = useRef<{ id: string | undefined; height: number }>({ id: undefined, height: 0 });
  const [editing, setEditing] = useState<Id | null>(null);

  useEffect(() => {
    if (!messages?.loaded && !messages?.loading) void store.loadLatest(channelId);
  }, [channelId]); // eslint-disable-line react-hooks/exhaustive-deps

  const items = messages?.items ?? [];
  const rows = useMemo(() => groupMessages(items, { lastReadId: readMarker, myId: me?.id }), [items, readMarker, me?.id]);

  // Keep the view pinned to the bottom for new messages, and steady when older ones load above.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = items.find((m) => !m.state)?.id;
    if (prevFirst.current.id && first !== prevFirst.current.id && !atBottom.current) {
      el.scrollTop += el.scrollHeight - prevFirst.current.height;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    prevFirst.current = { id: first, height: el.scrollHeight };
    if (atBottom.current && document.visibilityState === 'visible') store.markRead(channelId);
  }, [items, channelId, store]);

  // Coming back to the tab counts as reading what is on screen.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible' && atBottom.current) store.markRead(channelId);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [store, channelId]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    prevFirst.current.height = el.scrollHeight;
    if (el.scrollTop < 300 && messages?.hasMoreBefore && !messages.loading && messages.loaded) void store.loadOlder(channelId);
    if (atBottom.current) store.markRead(channelId);
  };

  const canSend = hasPermission(perms, Permission.SEND_MESSAGES);
  const canManage = hasPermission(perms, Permission.MANAGE_MESSAGES);
  const lastOwn = [...items].reverse().find((m) => m.author_id === me?.id && !m.state);

  return (
    <>
      <div className="messages" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label={`Messages in #${channel.name}`}>
        {messages?.loaded && !messages.hasMoreBefore && (
          <div className="channel-start">
            <h2>Welcome to #{channel.name}</h2>
            <p className="muted">This is the start of the channel.</p>
          </div>
        )}
        {messages?.loading && (
          <p className="loading muted" role="status">
            Loading messages…
          </p>
        )}
        {messages?.loaded && messages.hasMoreBefore && !messages.loading && (
          <button type="button" className="link load-older" onClick={() => void store.loadOlder(channelId)}>
            Load older messages
          </button>
        )}
        <ol className="message-list" role="log" aria-live="polite" aria-label={`#${channel.name} history`}>
          {rows.map((r) => {
            if (r.kind === 'day')
              return (
                <li key={r.key} className="day-divider" role="separator" aria-label={formatDay(r.day)}>
                  <span>{formatDay(r.day)}</span>
                </li>
              );
            if (r.kind === 'unread')
              return (
                <li key={r.key} className="unread-divider" role="separator" aria-label="New messages">
                  <span>New</span>
                </li>
              );
            return (
              <li key={r.key} className="message-group">
                <Avatar name={r.authorName} id={r.authorId} size={40} />
                <div className="group-body">
                  <div className="group-head">
                    <span className="author">{r.authorName}</span>
                    <time className="muted small" dateTime={r.messages[0].created_at}>
                      {formatTime(r.messages[0].created_at)}
                    </time>
                  </div>
                  <ul role="list" className="group-messages">
                    {r.messages.map((m) => (
                      <MessageItem
                        key={m.state ? m.nonce : m.id}
                        message={m}
                        mine={m.author_id === me?.id}
                        canDelete={m.author_id === me?.id || canManage}
                        editing={editing === m.id}
                        onEdit={() => setEditing(m.id)}
                        onDoneEditing={() => setEditing(null)}
                      />
                    ))}
                  </ul>
                </div>
              </li>
            );
          })}
        </ol>
      </div>
      <TypingIndicator channelId={channelId} guildId={channel.guild_id} />
      <Composer channelId={channelId} channelName={channel.name} disabled={!canSend} onEditLast={() => lastOwn && setEditing(lastOwn.id)} />
    </>
  );
}

function MessageItem({
  message: m,
  mine,
  canDelete,
  editing,
  onEdit,
  onDoneEditing,
}: {
  message: ChatMessage;
  mine: boolean;
  canDelete: boolean;
  editing: boolean;
  onEdit: () => void;
  onDoneEditing: () => void;
}) {
  const store = useStore();
  const [draft, setDraft] = useState(m.content);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    if (editing) setDraft(m.content);
  }, [editing]); // eslint-disable-line react-hooks/exhaustive-deps

  async function save() {
    const text = draft.trim();
    if (isBlank(text) || text === m.content) return onDoneEditing();
    try {
      await store.editMessage(m.channel_id, m.id, text);
      setError('');
      onDoneEditing();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Could not save.');
    }
  }

  const stateClass = m.state === 'sending' ? ' sending' : m.state === 'failed' ? ' failed' : '';
  return (
    <li className={`message${stateClass}`} data-message-id={m.state ? undefined : m.id} data-state={m.state ?? 'sent'} aria-label={m.state === 'failed' ? `Not sent: ${m.content}` : undefined}>
      {editing ? (
        <div className="edit-box">
          <label htmlFor={`edit-${m.id}`} className="small muted">
            Edit message
          </label>
          <textarea
            id={`edit-${m.id}`}
            value={draft}
            autoFocus
            rows={Math.min(8, draft.split('\n').length)}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                void save();
              } else if (e.key === 'Escape') {
                e.preventDefault();
                onDoneEditing();
              }
            }}
          />
          <div className="edit-actions">
            <button type="button" className="secondary small" onClick={onDoneEditing}>
              Cancel
            </button>
            <button type="button" className="primary small" onClick={() => void save()}>
              Save
            </button>
          </div>
          {error && (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
        </div>
      ) : (
        <p className="content">
          {m.content}
          {m.edited_at && (
            <span className="edited muted small" title={new Date(m.edited_at).toLocaleString()}>
              {' '}
              (edited)
            </span>
          )}
        </p>
      )}
      {m.state === 'failed' && (
        <div className="failed-bar" role="alert">
          <span>Not sent{m.error ? `: ${m.error}` : ''}.</span>
          <button type="button" className="link" onClick={() => store.retrySend(m.channel_id, m.nonce!)}>
            Retry
          </button>
          <button type="button" className="link" onClick={() => store.discardFailed(m.channel_id, m.nonce!)}>
            Discard
          </button>
        </div>
      )}
      {m.state === 'sending' && <span className="sr-only">Sending…</span>}
      {!m.state && !editing && (mine || canDelete) && (
        <div className="message-actions">
          {mine && (
            <button type="button" className="icon-button small" aria-label="Edit" title="Edit" onClick={onEdit}>
              <Icon name="edit" size={16} />
            </button>
          )}
          {canDelete &&
            (confirmDelete ? (
              <>
                <button type="button" className="danger small" onClick={() => void store.deleteMessage(m.channel_id, m.id).catch(() => setConfirmDelete(false))}>
                  Confirm delete
                </button>
                <button type="button" className="secondary small" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" className="icon-button small" aria-label="Delete" title="Delete" onClick={() => setConfirmDelete(true)}>
                <Icon name="trash" size={16} />
              </button>
            ))}
        </div>
      )}
    </li>
  );
}

function TypingIndicator({ channelId, guildId }: { channelId: Id; guildId: Id }) {
  const typing = useAppState((s) => s.typing[channelId]);
  const state = useAppState((s) => s);
  const names = Object.keys(typing ?? {}).map((uid) => userName(state, uid, guildId));
  const text =
    names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : names.length <= 3 ? `${names.join(', ')} are typing…` : 'Several people are typing…';
  return (
    <div className="typing" role="status" aria-live="polite">
      {text}
    </div>
  );
}

function Composer({ channelId, channelName, disabled, onEditLast }: { channelId: Id; channelName: string; disabled: boolean; onEditLast: () => void }) {
  const store = useStore();
  const draft = useAppState((s) => s.drafts[channelId] ?? '');
  const behindModal = useContext(ModalContext).open > 0;
  const ref = useRef<HTMLTextAreaElement>(null);
  // Opening a channel puts the cursor in its box. Behind a modal dialog (the channel of a
  // guild just created, shown while its dialog closes) the box cannot take focus: it takes
  // it when the dialog has closed, after the dialog handed focus back to its opener.
  const wantsFocus = useRef<Id | null>(null);
  useEffect(() => {
    if (window.matchMedia?.('(pointer: fine)').matches) wantsFocus.current = channelId;
  }, [channelId]);
  useEffect(() => {
    if (behindModal || wantsFocus.current !== channelId) return;
    ref.current?.focus();
    if (document.activeElement === ref.current) wantsFocus.current = null;
  }, [channelId, behindModal]);

  function send() {
    if (isBlank(draft)) return;
    // The box empties only once the message is queued (see Store.sendDraft), and the message
    // goes to this box's channel, the one on screen when Enter was pressed.
    store.sendDraft(channelId);
    ref.current?.focus();
  }
  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'ArrowUp' && !draft) {
      e.preventDefault();
      onEditLast();
    }
  }
  const id = 'composer';
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor={id} className="composer-label">
        Message #{channelName}
      </label>
      <div className="composer-row">
        <textarea
          id={id}
          ref={ref}
          value={draft}
          rows={Math.min(6, Math.max(1, draft.split('\n').length))}
          disabled={disabled}
          readOnly={behindModal}
          placeholder={disabled ? 'You cannot send messages here' : `Message #${channelName}`}
          maxLength={4000}
          onChange={(e) => {
            store.setDraft(channelId, e.target.value);
            if (e.target.value) store.typing(channelId);
          }}
          onKeyDown={onKey}
        />
        <button type="submit" className="primary send" aria-label="Send" disabled={disabled || isBlank(draft)}>
          <Icon name="send" size={18} />
          <span className="send-text">Send</span>
        </button>
      </div>
    </form>
  );
}
