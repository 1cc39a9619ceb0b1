#include "auth/validation.hpp"
#include "chat/chat_service.hpp"
#include "chat/permissions.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"

namespace hype::chat {

using ET = cluster::EventType;

namespace {
constexpr std::size_t kMaxContent = 4000;
}

MessageView ChatService::create_message(Id actor, Id channel_id, const std::string& content,
                                        const std::optional<std::string>& nonce) {
  auto [c, a] = visible_channel(actor, channel_id);
  if (c.kind != store::ChannelKind::text)
    throw bad_request("messages can only be sent to text channels", "channel_id");
  require(a, perm::kSendMessages, "SEND_MESSAGES");
  auth::validate_text(content, "content", 1, kMaxContent, true);
  store::Message m;
  m.id = ids_.next();
  m.channel_id = channel_id;
  m.guild_id = c.guild_id;
  m.author_id = actor;
  m.content = content;
  m.created_at = SnowflakeGenerator::timestamp_ms(m.id);
  store_.create_message(m);
  MessageView o{std::move(m), a.member.username, nonce};
  publish({.type = ET::message_create,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .subject_user_id = actor,
           .channel_id = channel_id},
          o);
  return o;
}

std::vector<MessageView> ChatService::list_messages(Id actor, Id channel_id,
                                                    std::optional<Id> before,
                                                    std::optional<Id> after, int limit) {
  auto [c, a] = visible_channel(actor, channel_id);
  if (limit < 1 || limit > 100) throw bad_request("limit must be 1-100", "limit");
  store::MessageQuery q;
  q.channel_id = channel_id;
  q.before = before;
  q.after = after;
  q.limit = limit;
  std::vector<MessageView> out;
  for (auto& m : store_.list_messages(q)) {
    std::string name = username(m.author_id);
    out.push_back({std::move(m), std::move(name), std::nullopt});
  }
  return out;
}

MessageView ChatService::edit_message(Id actor, Id channel_id, Id message_id,
                                      const std::string& content) {
  auto [c, a] = visible_channel(actor, channel_id);
  auto m = store_.find_message(message_id);
  if (!m || m->channel_id != channel_id) throw not_found("message");
  // Editing puts words in the author's mouth: only the author may do it.
  if (m->author_id != actor) throw forbidden("only the author can edit a message");
  auth::validate_text(content, "content", 1, kMaxContent, true);
  m->content = content;
  m->edited_at = unix_ms();
  store_.update_message(message_id, content, m->edited_at);
  MessageView o{*m, username(m->author_id), std::nullopt};
  publish({.type = ET::message_update,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .subject_user_id = actor,
           .channel_id = channel_id},
          o);
  return o;
}

void ChatService::delete_message(Id actor, Id channel_id, Id message_id) {
  auto [c, a] = visible_channel(actor, channel_id);
  auto m = store_.find_message(message_id);
  if (!m || m->channel_id != channel_id) throw not_found("message");
  if (m->author_id != actor) require(a, perm::kManageMessages, "MANAGE_MESSAGES");
  store_.delete_message(message_id);
  publish({.type = ET::message_delete,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .channel_id = channel_id},
          MessageGone{message_id, channel_id, c.guild_id});
}

void ChatService::typing(Id actor, Id channel_id) {
  auto [c, a] = visible_channel(actor, channel_id);
  if (c.kind != store::ChannelKind::text) throw bad_request("not a text channel", "channel_id");
  require(a, perm::kSendMessages, "SEND_MESSAGES");
  publish({.type = ET::typing_start,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .subject_user_id = actor,
           .channel_id = channel_id},
          Typing{channel_id, c.guild_id, actor, unix_seconds()});
}

}  // namespace hype::chat
