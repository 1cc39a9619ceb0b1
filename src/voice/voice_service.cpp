#include "voice/voice_service.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "chat/dto.hpp"
#include "chat/permissions.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "voice/turn_credentials.hpp"

namespace hype::voice {

namespace json = boost::json;

VoiceService::VoiceService(chat::ChatService& chat, cluster::Coordinator& coord,
                           const auth::TokenSigner& signer, VoiceOptions opts)
    : chat_(chat),
      coord_(coord),
      signer_(signer),
      opts_(std::move(opts)),
      policy_({opts_.mode, opts_.p2p_max_users,
               static_cast<std::int64_t>(opts_.sfu_return_delay) * 1000}) {}

json::array VoiceService::ice_servers(Id user) const {
  json::array out;
  if (!opts_.stun_urls.empty()) {
    json::array urls;
    for (auto& u : opts_.stun_urls) urls.push_back(json::string(u));
    out.push_back(json::object{{"urls", std::move(urls)}});
  }
  if (!opts_.turn_secret.empty() && !opts_.turn_urls.empty()) {
    auto cred = make_turn_credential(opts_.turn_secret, id_to_string(user),
                                     unix_seconds() + opts_.turn_ttl);
    json::array urls;
    for (auto& u : opts_.turn_urls) urls.push_back(json::string(u));
    out.push_back(json::object{
        {"urls", std::move(urls)}, {"username", cred.username}, {"credential", cred.credential}});
  }
  return out;
}

void VoiceService::publish_state(const cluster::VoiceState& s) {
  chat_.publish("VOICE_STATE_UPDATE", s.guild_id, chat::perm::kViewChannel,
                chat::voice_state_json(s));
}

void VoiceService::publish_mode(Id channel_id, Id guild_id, Mode m) {
  spdlog::info("voice mode channel={} mode={}", channel_id, mode_name(m));
  chat_.publish("VOICE_MODE_UPDATE", guild_id, chat::perm::kViewChannel,
                json::object{{"guild_id", id_to_string(guild_id)},
                             {"channel_id", id_to_string(channel_id)},
                             {"mode", mode_name(m)}});
}

Mode VoiceService::update_mode(Id channel_id, Id guild_id) {
  std::lock_guard lock(mode_mu_);
  // The count is read under the lock so concurrent joins and leaves feed it in order.
  int count = static_cast<int>(coord_.channel_voice_states(channel_id).size());
  if (count > 0)
    guild_of_[channel_id] = guild_id;
  else
    guild_of_.erase(channel_id);
  if (auto m = policy_.on_count(channel_id, count, steady_ms()))
    publish_mode(channel_id, guild_id, *m);
  return policy_.mode(channel_id);
}

void VoiceService::tick() {
  std::lock_guard lock(mode_mu_);
  for (auto& ch : policy_.tick(steady_ms())) {
    auto g = guild_of_.find(ch.channel_id);
    if (g != guild_of_.end()) publish_mode(ch.channel_id, g->second, ch.mode);
  }
}

json::object VoiceService::channel_mode(Id actor, Id channel_id) {
  chat_.visible_channel(actor, channel_id);
  std::lock_guard lock(mode_mu_);
  return {{"channel_id", id_to_string(channel_id)}, {"mode", mode_name(policy_.mode(channel_id))}};
}

json::object VoiceService::join(Id actor, Id channel_id, bool self_mute, bool self_deaf) {
  auto [c, a] = chat_.visible_channel(actor, channel_id);
  if (c.kind != store::ChannelKind::voice) throw bad_request("not a voice channel", "channel_id");
  if (!chat::has_permissions(a.permissions, chat::perm::kConnect))
    throw forbidden("missing permission: CONNECT");
  cluster::VoiceState st;
  st.guild_id = c.guild_id;
  st.channel_id = channel_id;
  st.user_id = actor;
  st.self_mute = self_mute || !chat::has_permissions(a.permissions, chat::perm::kSpeak);
  st.self_deaf = self_deaf;
  st.joined_at = unix_ms();
  auto r = coord_.voice_join(st, c.user_limit);
  if (r.full) throw ApiError(403, "channel_full", "this voice channel is full");
  if (r.previous) {
    cluster::VoiceState gone = *r.previous;
    gone.channel_id = 0;
    publish_state(gone);
    update_mode(r.previous->channel_id, r.previous->guild_id);
  }
  publish_state(st);
  Mode mode = update_mode(channel_id, c.guild_id);
  spdlog::info("voice join user={} channel={} users={}", actor, channel_id, r.count);

  json::array participants;
  for (auto& s : coord_.channel_voice_states(channel_id))
    participants.push_back(chat::voice_state_json(s));
  auth::TokenClaims claims;
  claims.typ = "voice";
  claims.user_id = actor;
  claims.channel_id = channel_id;
  claims.node = opts_.sfu_node_id;
  claims.iat = unix_seconds();
  claims.exp = claims.iat + opts_.token_ttl;
  char buf[64];
  return {{"mode", mode_name(mode)},
          {"channel_id", id_to_string(channel_id)},
          {"guild_id", id_to_string(c.guild_id)},
          {"participants", std::move(participants)},
          {"ice_servers", ice_servers(actor)},
          {"voice_token", signer_.sign(claims)},
          {"voice_token_expires_at", format_iso8601(claims.exp * 1000, buf)},
          {"bitrate", c.bitrate},
          {"sfu", node_json()}};
}

void VoiceService::leave(Id actor, Id channel_id) {
  if (auto old = coord_.voice_leave(actor, channel_id)) {
    Id left = old->channel_id;
    old->channel_id = 0;
    publish_state(*old);
    update_mode(left, old->guild_id);
    spdlog::info("voice leave user={} channel={}", actor, channel_id);
  }
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
    if (!p || !chat::has_permissions(*p, chat::perm::kSpeak)) self_mute = true;
  }
  if (auto s = coord_.voice_update(actor, self_mute, self_deaf)) publish_state(*s);
}

json::array VoiceService::states(Id actor, Id channel_id) {
  chat_.visible_channel(actor, channel_id);
  json::array out;
  for (auto& s : coord_.channel_voice_states(channel_id)) out.push_back(chat::voice_state_json(s));
  return out;
}

json::object VoiceService::sfu_node(Id actor, Id channel_id) {
  chat_.visible_channel(actor, channel_id);
  // Single node: this process runs the SFU role for every channel.
  return {{"node", node_json()}};
}

json::value VoiceService::node_json() const {
  if (opts_.sfu_node_id.empty()) return nullptr;
  return json::object{{"id", opts_.sfu_node_id}, {"url", opts_.sfu_url}};
}

Id VoiceService::shared_channel(Id a, Id b) {
  auto sa = coord_.voice_state(a);
  auto sb = coord_.voice_state(b);
  if (!sa || !sb || sa->channel_id != sb->channel_id) return 0;
  return sa->channel_id;
}

}  // namespace hype::voice
