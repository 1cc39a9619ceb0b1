import { useEffect, useMemo, useState } from 'react';
import { GuildRail } from './GuildRail';
import { ChannelSidebar } from './ChannelSidebar';
import { ChatView } from './ChatView';
import { MemberList } from './MemberList';
import { SettingsDialog } from './SettingsDialog';
import { ModalContext } from './Dialog';
import { useAppState, useSettings, useStore } from './hooks';
import { guildChannels } from '../state/state';

export function Shell() {
  const store = useStore();
  const gateway = useAppState((s) => s.gateway);
  const guildId = useAppState((s) => s.selectedGuild);
  const channelId = useAppState((s) => (s.selectedGuild ? (s.selectedChannel[s.selectedGuild] ?? null) : null));
  const settings = useSettings();
  const [navOpen, setNavOpen] = useState(false);
  const [membersOpen, setMembersOpen] = useState(() => window.matchMedia?.('(min-width: 1100px)').matches ?? true);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [modalsOpen, setModalsOpen] = useState(0);
  const modals = useMemo(() => ({ open: modalsOpen, change: (d: number) => setModalsOpen((n) => Math.max(0, n + d)) }), [modalsOpen]);

  // Close the phone drawer after navigating.
  useEffect(() => setNavOpen(false), [channelId, guildId]);

  // Keyboard: Alt+Up/Down moves between text channels; Ctrl+Shift+M mutes; Ctrl+Shift+D deafens;
  // push-to-talk key held transmits (ignored while typing in a field).
  useEffect(() => {
    const editable = (t: EventTarget | null) => t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    const down = (e: KeyboardEvent) => {
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        const s = store.getState();
        const list = guildChannels(s, s.selectedGuild).filter((c) => c.kind === 'text');
        const cur = store.currentChannelId();
        const i = list.findIndex((c) => c.id === cur);
        const next = list[(i + (e.key === 'ArrowUp' ? -1 : 1) + list.length) % list.length];
        if (next) {
          e.preventDefault();
          store.selectChannel(next.id);
        }
        return;
      }
      if (e.ctrlKey && e.shiftKey && e.code === 'KeyM') {
        e.preventDefault();
        store.rtc.setMute(!store.rtc.getSnapshot().selfMute);
        return;
      }
      if (e.ctrlKey && e.shiftKey && e.code === 'KeyD') {
        e.preventDefault();
        store.rtc.setDeaf(!store.rtc.getSnapshot().selfDeaf);
        return;
      }
      if (settings.inputMode === 'push_to_talk' && e.code === settings.pttKey && !editable(e.target)) store.rtc.setPushToTalk(true);
    };
    const up = (e: KeyboardEvent) => {
      if (settings.inputMode === 'push_to_talk' && e.code === settings.pttKey) store.rtc.setPushToTalk(false);
    };
    const blur = () => store.rtc.setPushToTalk(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [store, settings.inputMode, settings.pttKey]);

  return (
    <ModalContext.Provider value={modals}>
      <div className={`shell${navOpen ? ' nav-open' : ''}${membersOpen ? ' members-open' : ''}`}>
        <a href="#composer" className="skip-link">
          Skip to message box
        </a>
        {gateway === 'reconnecting' && (
          <div className="banner" role="status">
            Connection lost. Reconnecting…
          </div>
        )}
        <div
          className="nav"
          id="nav-drawer"
          onClickCapture={(e) => {
            // Picking a channel (even the current one) closes the phone drawer.
            if ((e.target as HTMLElement).closest('button.channel, button.channel-main, button.join-voice')) setNavOpen(false);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && navOpen) setNavOpen(false);
          }}
        >
          <GuildRail />
          <ChannelSidebar onOpenSettings={() => setSettingsOpen(true)} />
        </div>
        <button type="button" className="scrim" aria-label="Close navigation" tabIndex={navOpen ? 0 : -1} onClick={() => setNavOpen(false)} />
        <ChatView
          navOpen={navOpen}
          onToggleNav={() => setNavOpen((v) => !v)}
          membersOpen={membersOpen}
          onToggleMembers={() => setMembersOpen((v) => !v)}
        />
        {membersOpen && guildId && <MemberList guildId={guildId} onClose={() => setMembersOpen(false)} />}
        {settingsOpen && <SettingsDialog onClose={() => setSettingsOpen(false)} />}
        {!guildId && <span className="sr-only" role="status">No guild yet</span>}
      </div>
    </ModalContext.Provider>
  );
}
