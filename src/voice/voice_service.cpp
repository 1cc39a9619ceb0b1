#include "voice/voice_service.hpp"

#include <spdlog/spdlog.h>

#include "chat/permissions.hpp"
#include "cluster/redis_client.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"
#include "voice/turn_credentials.hpp"

namespace hype::voice {

VoiceService::VoiceService(chat::ChatService& chat, cluster::Coordinator& coord,
                           cluster::Placement& placement, cluster::ModeCoordinator& modes,
                           const auth::VoiceTokenSigner& signer, VoiceOptions opts,
                           VoiceEventSink events)
    : chat_(chat),
      coord_(coord),
      placement_(placement),
      modes_(modes),
      signer_(signer),
      opts_(std::move(opts)),
      events_(events) {}

void VoiceService::emit(cluster::VoiceEvent e) {
  if (!events_.log || !events_.ids) return;
  e.id = events_.ids->next();
  if (!e.at) e.at = unix_ms();
  try {
    events_.log->append(e);
  } catch (const std::exception& ex) {
    spdlog::warn("voice event {} lost: {}", cluster::voice_event_type_name(e.type), ex.what());
  }
}

int VoiceService::guild_users(Id guild_id) {
  return static_cast<int>(coord_.guild_voice_states(guild_id).size());
}

void VoiceService::emit_ended(const cluster::VoiceState& s, Mode mode) {
  if (!events_.log) return;
  std::int64_t now = unix_ms();
  if (s.self_stream)
    emit({.type = cluster::VoiceEventType::stream_stop,
          .guild_id = s.guild_id,
          .channel_id = s.channel_id,
          .user_id = s.user_id,
          .at = now,
          .mode = mode_name(mode)});
  emit({.type = cluster::VoiceEventType::leave,
        .guild_id = s.guild_id,
        .channel_id = s.channel_id,
        .user_id = s.user_id,
        .at = now,
        .duration_ms = std::max<std::int64_t>(0, now - s.joined_at),
        .mode = mode_name(mode),
        .guild_users = guild_users(s.guild_id)});
}

void VoiceService::emit_stream(const cluster::VoiceState& s, bool live) {
  if (!events_.log) return;
  Mode mode = Mode::p2p;
  try {
    mode = modes_.mode(s.channel_id);
  } catch (const cluster::RedisError& e) {  // the event still counts; its mode is unknown
    spdlog::warn("voice channel {}: mode unknown for a stream event: {}", s.channel_id, e.what());
  }
  emit({.type = live ? cluster::VoiceEventType::stream_start : cluster::VoiceEventType::stream_stop,
        .guild_id = s.guild_id,
        .channel_id = s.channel_id,
        .user_id = s.user_id,
        .mode = mode_name(mode)});
}

void VoiceService::sfu_node_lost(const std::string& node_id) {
  emit({.type = cluster::VoiceEventType::sfu_node_lost, .node_id = node_id});
}

std::vector<IceServer> VoiceService::ice_servers(Id user) const {
  std::vector<IceServer> out;
  if (!opts_.stun_urls.empty()) out.push_back({opts_.stun_urls, {}, {}});
  if (!opts_.turn_secret.empty() && !opts_.turn_urls.empty()) {
    auto cred = make_turn_credential(opts_.turn_secret, id_to_string(user),
                                     unix_seconds() + opts_.turn_ttl);
    out.push_back({opts_.turn_urls, cred.username, cred.credential});
  }
  return out;
}

void VoiceService::publish_state(const cluster::VoiceState& s) {
  // subject_user_id lets the SFU re-check that user's sessions without parsing the payload.
  chat_.publish({.type = cluster::EventType::voice_state_update,
                 .guild_id = s.guild_id,
                 .required_permissions = chat::perm::kViewChannel,
                 .subject_user_id = s.user_id,
                 .channel_id = s.channel_id},
                s);
}

void VoiceService::publish_mode(Id channel_id, Id guild_id, Mode m) {
  spdlog::info("voice mode channel={} mode={}", channel_id, mode_name(m));
  chat_.publish({.type = cluster::EventType::voice_mode_update,
                 .guild_id = guild_id,
                 .required_permissions = chat::perm::kViewChannel,
                 .channel_id = channel_id},
                chat::ModeChange{guild_id, channel_id, m});
  emit({.type = cluster::VoiceEventType::mode_switch,
        .guild_id = guild_id,
        .channel_id = channel_id,
        .mode = mode_name(m)});
}

std::optional<std::string> VoiceService::placement_regions(const std::string& region) const {
  const std::string& r = region.empty() ? opts_.region : region;
  if (r.empty()) return std::nullopt;
  std::string out = r;
  if (auto it = opts_.nearby_regions.find(r); it != opts_.nearby_regions.end())
    for (const auto& n : it->second) out += "," + n;
  return out;
}

VoiceService::ChannelUpdate VoiceService::update_channel(Id channel_id, Id guild_id,
                                                         std::optional<std::string> regions) {
  std::lock_guard lock(mode_mu_);
  // The count is read under the lock so concurrent joins and leaves feed it in order.
  int count = static_cast<int>(coord_.channel_voice_states(channel_id).size());
  ChannelUpdate out;
  // The mode's state may be in Redis: unreachable, the change already made stands and the
  // channel's next count brings the mode in line (the rule needs only the current count).
  // Wall-clock time: in a cluster the return delay is judged by several nodes' clocks.
  try {
    if (auto u = modes_.on_count(channel_id, guild_id, count, unix_ms()))
      publish_mode(u->channel_id, u->guild_id, u->mode);
    out.mode = modes_.mode(channel_id);
  } catch (const cluster::RedisError& e) {
    spdlog::warn("voice channel {}: mode not updated: {}", channel_id, e.what());
    out.mode = count > opts_.p2p_max_users ? Mode::sfu : Mode::p2p;  // the rule, no hysteresis
  }
  // After the change is made, a placement that fails (Redis down) is logged, not thrown: the
  // join checked it could be placed before changing anything (join()).
  try {
    if (count > 0) {
      out.placed = placement_.place(channel_id, std::move(regions));
      if (out.placed) announce_move(*out.placed, guild_id);
    } else if (auto p = placement_.lookup(channel_id)) {
      placement_.release(channel_id, p->epoch);  // a newer decision (other epoch) stays
    }
  } catch (const cluster::PlacementError& e) {
    spdlog::warn("voice channel {}: placement unavailable: {}", channel_id, e.what());
  }
  return out;
}

void VoiceService::tick() {
  std::lock_guard lock(mode_mu_);
  for (auto& u : modes_.tick(unix_ms())) publish_mode(u.channel_id, u.guild_id, u.mode);
  sweep_nodes();
}

void VoiceService::sweep_nodes() {
  cluster::Placement::Swept swept;
  try {
    swept = placement_.sweep();
  } catch (const std::exception& e) {  // Redis unreachable: nothing can move meanwhile
    spdlog::debug("sfu node sweep skipped: {}", e.what());
    return;
  }
  for (auto& id : swept.expired) {
    spdlog::warn("sfu node {} stopped heartbeating: left the registry", id);
    sfu_node_lost(id);
  }
  for (auto& p : swept.moved) {
    auto states = coord_.channel_voice_states(p.channel_id);
    if (states.empty()) {  // nobody left to follow it: no need to keep the new decision
      placement_.release(p.channel_id, p.epoch);
      continue;
    }
    announce_move(p, states.front().guild_id, states);
  }
}

ChannelMode VoiceService::channel_mode(Id actor, Id channel_id) {
  chat_.visible_channel(actor, channel_id);
  return {channel_id, modes_.mode(channel_id)};
}

void VoiceService::announce_move(const cluster::Placed& placed, Id guild_id) {
  if (placed.moved_from.empty()) return;
  announce_move(placed, guild_id, coord_.channel_voice_states(placed.channel_id));
}

void VoiceService::announce_move(const cluster::Placed& placed, Id guild_id,
                                 const std::vector<cluster::VoiceState>& states) {
  std::vector<Id> users;
  users.reserve(states.size());
  for (auto& s : states) users.push_back(s.user_id);
  spdlog::warn("voice channel {} moved from sfu node {} (gone) to {} (epoch {}), {} users told",
               placed.channel_id, placed.moved_from, placed.node.id, placed.epoch, users.size());
  if (users.empty()) return;
  chat_.publish({.type = cluster::EventType::voice_server_update,
                 .guild_id = guild_id,
                 .user_ids = std::move(users),
                 .channel_id = placed.channel_id},
                chat::ServerChange{guild_id, placed.channel_id, placed.node.id, placed.node.url,
                                   placed.node.region});
}

JoinAnswer VoiceService::join(Id actor, Id channel_id, bool self_mute, bool self_deaf,
                              const std::string& sfu_unreachable, const std::string& region_hint,
                              std::int64_t resume_session, const std::string& sfu_current) {
  auto [c, a] = chat_.visible_channel(actor, channel_id);
  if (c.kind != store::ChannelKind::voice) throw bad_request("not a voice channel", "channel_id");
  if (!chat::has_permissions(a.permissions, chat::perm::kConnect))
    throw forbidden("missing permission: CONNECT");
  cluster::VoiceState st;
  st.guild_id = c.guild_id;
  st.channel_id = channel_id;
  st.user_id = actor;
  st.suppress = !chat::has_permissions(a.permissions, chat::perm::kSpeak);
  st.self_mute = self_mute || st.suppress;
  st.self_deaf = self_deaf;
  st.joined_at = unix_ms();
  // Positive and non-zero: it travels as an id string. A state being written back keeps its
  // session (a user who is still in a channel keeps theirs anyway: see voice_join).
  st.session =
      resume_session > 0 ? static_cast<std::uint64_t>(resume_session) : (random_u64() >> 2) | 1;
  // The SFU node is chosen before anything changes: a channel that needs the SFU and cannot be
  // placed now (the cluster's Redis is unreachable) refuses the join with 503 and leaves the
  // user where they were. A peer-to-peer channel joins anyway, placed later.
  if (!sfu_unreachable.empty()) {
    try {
      if (placement_.report_unreachable(sfu_unreachable)) sfu_node_lost(sfu_unreachable);
    } catch (const std::exception& e) {  // Redis down: the heartbeat TTL decides later
      spdlog::warn("voice join: sfu node {} reported unreachable, not checked: {}", sfu_unreachable,
                   e.what());
    }
  }
  // Where a new placement goes: the channel's own region, else the joiner's hint, else ours.
  const auto regions = placement_regions(!c.rtc_region.empty() ? c.rtc_region : region_hint);
  std::optional<cluster::Placed> moved;
  bool first_node = false;  // the first place() named a node
  bool placed_now = false;
  try {
    // Only a write-back steers the placement to the client's node (a fresh join cannot pick).
    auto first =
        placement_.place(channel_id, regions, resume_session > 0 ? sfu_current : std::string());
    placed_now = first.has_value();
    first_node = first.has_value();
    if (first && !first->moved_from.empty()) moved = first;
  } catch (const cluster::PlacementError&) {
    if (modes_.mode(channel_id) == cluster::VoiceMode::sfu) throw;
    placed_now = true;  // a P2P channel joins anyway
  }
  // An SFU channel with no SFU node to run on (none registered yet, e.g. right after the
  // cluster's Redis restarted empty): a clear 503 the client retries, not an answer without a
  // node that leaves it connected to nothing.
  if (!placed_now && modes_.mode(channel_id) == cluster::VoiceMode::sfu)
    throw cluster::PlacementError("no SFU node can take this channel now");
  // A write-back whose node cannot take the channel yet (not registered again after an empty
  // restart): nothing changes now, the client retries at the node's next state_lost. (A live
  // placement on another node stands: the answer names it and the client moves there.)
  if (resume_session > 0 && !sfu_current.empty() && !first_node)
    throw cluster::PlacementError("the SFU node of this call is not registered yet");
  auto r = coord_.voice_join(st, c.user_limit);
  if (r.full) throw ApiError(403, "channel_full", "this voice channel is full");
  if (r.previous) {
    cluster::VoiceState gone = *r.previous;
    gone.channel_id = 0;
    publish_state(gone);
    auto prev = update_channel(r.previous->channel_id, r.previous->guild_id, placement_regions());
    emit_ended(*r.previous, prev.mode);
  }
  publish_state(r.state);
  auto [mode, placed] = update_channel(channel_id, c.guild_id, regions);
  if (moved) announce_move(*moved, c.guild_id);
  // Joining the channel one is already in keeps the stay (its session): not a new join.
  if (r.state.session == st.session)
    emit({.type = cluster::VoiceEventType::join,
          .guild_id = c.guild_id,
          .channel_id = channel_id,
          .user_id = actor,
          .at = r.state.joined_at,
          .mode = mode_name(mode),
          .node_id = placed ? placed->node.id : std::string(),
          .guild_users = guild_users(c.guild_id)});
  spdlog::info("voice join user={} channel={} users={}", actor, channel_id, r.count);

  auth::TokenClaims claims;
  claims.typ = "voice";
  claims.user_id = actor;
  claims.channel_id = channel_id;
  claims.node = placed ? placed->node.id : std::string();
  claims.voice_session = r.state.session;
  claims.iat = unix_seconds();
  claims.exp = claims.iat + opts_.token_ttl;
  JoinAnswer out;
  out.mode = mode;
  out.channel_id = channel_id;
  out.guild_id = c.guild_id;
  out.participants = coord_.channel_voice_states(channel_id);
  out.ice_servers = ice_servers(actor);
  out.voice_token = signer_.sign(claims);
  out.voice_token_expires_at = claims.exp * 1000;
  out.bitrate = c.bitrate;
  out.sfu = std::move(placed);
  return out;
}

bool VoiceService::end_state(Id user_id, Id channel_id) {
  auto old = coord_.voice_leave(user_id, channel_id);
  if (!old) return false;
  cluster::VoiceState ended = *old;
  old->channel_id = 0;
  publish_state(*old);
  auto after = update_channel(ended.channel_id, ended.guild_id, placement_regions());
  emit_ended(ended, after.mode);
  return true;
}

void VoiceService::leave(Id actor, Id channel_id) {
  if (end_state(actor, channel_id))
    spdlog::info("voice leave user={} channel={}", actor, channel_id);
}

void VoiceService::on_event(const cluster::Event& e) {
  using ET = cluster::EventType;
  switch (e.type) {
    case ET::guild_delete:
      // A removed member's own GUILD_DELETE (to them alone) is handled by the member removal.
      if (!e.user_ids.empty()) return;
      // The whole guild goes (its rows right after this event): everyone in its voice leaves.
      for (auto& s : coord_.guild_voice_states(e.guild_id))
        if (end_state(s.user_id, s.channel_id))
          spdlog::info("voice ended user={} channel={} reason=guild_deleted", s.user_id,
                       s.channel_id);
      return;
    case ET::channel_delete:
      if (!e.channel_id) return;
      for (auto& s : coord_.channel_voice_states(e.channel_id))
        if (end_state(s.user_id, e.channel_id))
          spdlog::info("voice ended user={} channel={} reason=channel_deleted", s.user_id,
                       e.channel_id);
      return;
    // Membership and role changes: subject_user_id names the user, 0 the whole guild.
    case ET::guild_member_remove:
    case ET::guild_member_update:
    case ET::guild_role_update:
    case ET::guild_role_delete:
      revalidate(e.guild_id, e.subject_user_id);
      return;
    // Nothing here takes a voice right away (a new role has no members yet).
    case ET::guild_create:
    case ET::guild_update:
    case ET::guild_member_add:
    case ET::guild_role_create:
    case ET::channel_create:
    case ET::channel_update:
    case ET::message_create:
    case ET::message_update:
    case ET::message_delete:
    case ET::typing_start:
    case ET::presence_update:
    case ET::voice_state_update:
    case ET::voice_mode_update:
    case ET::stream_update:
    case ET::voice_server_update:
    case ET::voice_signal:
      return;
  }
}

void VoiceService::revalidate(Id guild_id, Id user_id) {
  std::vector<cluster::VoiceState> states;
  if (user_id) {
    if (auto s = coord_.voice_state(user_id); s && s->guild_id == guild_id) states.push_back(*s);
  } else {
    states = coord_.guild_voice_states(guild_id);
  }
  for (auto& s : states) {
    auto p = chat_.permissions_for(s.user_id, guild_id);
    using namespace chat::perm;
    if (!p || !chat::has_permissions(*p, kViewChannel | kConnect)) {
      if (end_state(s.user_id, s.channel_id))
        spdlog::info("voice ended user={} channel={} reason={}", s.user_id, s.channel_id,
                     p ? "permission_removed" : "not_a_member");
      continue;
    }
    bool suppress = !chat::has_permissions(*p, kSpeak);
    if (suppress != s.suppress)
      if (auto now = coord_.voice_suppress(s.user_id, suppress)) publish_state(*now);
    if (s.self_stream && !chat::has_permissions(*p, kStream)) {
      if (auto now = coord_.voice_set_stream(s.user_id, s.channel_id, false)) {
        spdlog::info("stream ended user={} channel={} reason=permission_removed", s.user_id,
                     s.channel_id);
        publish_state(*now);
        emit_stream(*now, false);
      }
    }
  }
}

cluster::VoiceState VoiceService::start_stream(Id actor, Id channel_id) {
  auto cur = coord_.voice_state(actor);
  if (!cur || cur->channel_id != channel_id)
    throw ApiError(409, "not_in_channel", "join this voice channel before going live");
  auto p = chat_.permissions_for(actor, cur->guild_id);
  if (!p || !chat::has_permissions(*p, chat::perm::kStream))
    throw ApiError(403, "missing_permission", "You need the Stream permission in this channel");
  if (cur->self_stream) return *cur;
  auto now = coord_.voice_set_stream(actor, channel_id, true);
  if (!now) throw ApiError(409, "not_in_channel", "join this voice channel before going live");
  // STREAM may have gone between the check and the write, and the re-check its event caused
  // (revalidate) may have read the state before the write. Checking again after the write
  // means one of the two sees both, so nobody stays live without STREAM.
  auto again = chat_.permissions_for(actor, cur->guild_id);
  if (!again || !chat::has_permissions(*again, chat::perm::kStream)) {
    if (auto off = coord_.voice_set_stream(actor, channel_id, false)) publish_state(*off);
    throw ApiError(403, "missing_permission", "You need the Stream permission in this channel");
  }
  publish_state(*now);
  emit_stream(*now, true);
  return *now;
}

std::optional<cluster::VoiceState> VoiceService::stop_stream(Id actor, Id channel_id) {
  auto cur = coord_.voice_state(actor);
  if (!cur || cur->channel_id != channel_id || !cur->self_stream) return std::nullopt;
  auto now = coord_.voice_set_stream(actor, channel_id, false);
  if (now) {
    publish_state(*now);
    emit_stream(*now, false);
  }
  return now;
}

namespace {
std::optional<VoiceGrant> grant_of(const std::optional<cluster::VoiceState>& s, Id channel,
                                   std::uint64_t session) {
  if (!s || s->channel_id != channel || s->session != session) return std::nullopt;
  return VoiceGrant{!s->suppress, s->self_stream};
}
}  // namespace

std::optional<VoiceGrant> voice_grant(cluster::Coordinator& coord, Id user, Id channel,
                                      std::uint64_t session) {
  return grant_of(coord.voice_state(user), channel, session);
}

cluster::Task<VoiceGrantCheck> async_voice_grant(cluster::Coordinator& coord, Id user, Id channel,
                                                 std::uint64_t session) {
  cluster::VoiceLookup found = co_await coord.async_voice_lookup(user);
  VoiceGrantCheck out;
  out.grant = grant_of(found.state, channel, session);
  out.generation = std::move(found.generation);
  co_return out;
}

void VoiceService::leave_any(Id actor) {
  leave(actor, 0);
}

void VoiceService::update_self(Id actor, bool self_mute, bool self_deaf) {
  auto cur = coord_.voice_state(actor);
  if (!cur) throw ApiError(400, "not_in_voice", "you are not in a voice channel");
  if (!self_mute) {
    // Unmuting needs SPEAK; permissions may have changed since the join.
    auto p = chat_.permissions_for(actor, cur->guild_id);
    if (cur->suppress || !p || !chat::has_permissions(*p, chat::perm::kSpeak)) self_mute = true;
  }
  if (auto s = coord_.voice_update(actor, self_mute, self_deaf)) publish_state(*s);
}

std::vector<cluster::VoiceState> VoiceService::states(Id actor, Id channel_id) {
  chat_.visible_channel(actor, channel_id);
  return coord_.channel_voice_states(channel_id);
}

std::optional<cluster::Placed> VoiceService::sfu_node(Id actor, Id channel_id) {
  auto [c, a] = chat_.visible_channel(actor, channel_id);
  // The channel's node while it has people; for an empty one, where it would go now (asking
  // does not place it: only joins do, and the last leave releases it).
  auto placed = placement_.lookup(channel_id);
  if (!placed) {
    std::lock_guard lock(mode_mu_);
    if (!(placed = placement_.lookup(channel_id))) {
      placed = placement_.place(channel_id, placement_regions(c.rtc_region));
      if (placed && coord_.channel_voice_states(channel_id).empty())
        placement_.release(channel_id, placed->epoch);
    }
  }
  return placed;
}

cluster::Task<Id> VoiceService::async_shared_channel(Id a, Id b) {
  auto sa = co_await coord_.async_voice_state(a);
  auto sb = co_await coord_.async_voice_state(b);
  if (!sa || !sb || sa->channel_id != sb->channel_id) co_return 0;
  co_return sa->channel_id;
}

}  // namespace hype::voice
