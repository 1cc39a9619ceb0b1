import { useMemo } from 'react';
import type { Member, PresenceStatus } from '../api/types';
import { Avatar, Icon } from './Dialog';
import { useAppState } from './hooks';

const ORDER: PresenceStatus[] = ['online', 'idle', 'dnd', 'offline'];
const LABEL: Record<PresenceStatus, string> = { online: 'Online', idle: 'Idle', dnd: 'Do not disturb', offline: 'Offline' };

export function MemberList({ guildId, onClose }: { guildId: string; onClose: () => void }) {
  const members = useAppState((s) => s.members[guildId]);
  const presences = useAppState((s) => s.presences);
  const ownerId = useAppState((s) => s.guilds[guildId]?.owner_id);
  const groups = useMemo(() => {
    const by: Record<PresenceStatus, Member[]> = { online: [], idle: [], dnd: [], offline: [] };
    for (const m of Object.values(members ?? {})) by[presences[m.user.id] ?? 'offline'].push(m);
    for (const k of ORDER) by[k].sort((a, b) => a.user.username.localeCompare(b.user.username));
    return by;
  }, [members, presences]);

  return (
    <aside className="member-list" aria-label="Members">
      <header className="member-head">
        <h2>Members</h2>
        <button type="button" className="icon-button member-close" aria-label="Close member list" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {ORDER.map((status) =>
        groups[status].length === 0 ? null : (
          <section key={status} aria-label={`${LABEL[status]} members`}>
            <h3>
              {status === 'offline' ? 'Offline' : LABEL[status]} — {groups[status].length}
            </h3>
            <ul role="list">
              {groups[status].map((m) => (
                <li key={m.user.id} className={`member ${status}`} data-user-id={m.user.id} data-presence={status}>
                  <Avatar name={m.user.username} id={m.user.id} size={32} status={status} />
                  <span className="member-name">{m.user.username}</span>
                  {m.user.id === ownerId && (
                    <span className="badge" title="Guild owner">
                      owner
                    </span>
                  )}
                  <span className="sr-only">, {LABEL[status]}</span>
                </li>
              ))}
            </ul>
          </section>
        ),
      )}
    </aside>
  );
}
