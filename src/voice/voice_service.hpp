// Voice channels: who is in which channel (through the Coordinator), whether a channel runs
// peer to peer or on the SFU (mode policy), ICE servers with TURN credentials, signed voice
// tokens for the SFU, and the P2P signaling relay rule (only between users in one channel).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "auth/tokens.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"

namespace hype::voice {

struct VoiceOptions {
  std::string mode = "auto";  // auto | p2p | sfu
  int p2p_max_users = 8;
  int token_ttl = 300;
  std::string turn_secret;
  std::vector<std::string> turn_urls;
  std::vector<std::string> stun_urls;
  int turn_ttl = 86400;
  // The SFU node serving this process's channels (empty id: no SFU role here).
  std::string sfu_node_id;
  std::string sfu_url;  // ws(s)://host:port/voice
};

// Which transport a channel of `users` people uses.
std::string mode_for(const VoiceOptions& o, int users);

class VoiceService {
 public:
  VoiceService(chat::ChatService& chat, cluster::Coordinator& coord,
               const auth::TokenSigner& signer, VoiceOptions opts);

  boost::json::object join(Id actor, Id channel_id, bool self_mute, bool self_deaf);
  void leave(Id actor, Id channel_id);
  // Leaves whatever channel the user is in (gateway gone for good).
  void leave_any(Id actor);
  void update_self(Id actor, bool self_mute, bool self_deaf);
  boost::json::array states(Id actor, Id channel_id);
  boost::json::object sfu_node(Id actor, Id channel_id);
  // The channel both users are in, or 0 when they are not in the same one.
  Id shared_channel(Id a, Id b);
  boost::json::array ice_servers(Id user) const;
  // Set once the HTTP port is known, before serving.
  void set_sfu_url(std::string url) { opts_.sfu_url = std::move(url); }

 private:
  void publish_state(const cluster::VoiceState& s);
  boost::json::value node_json() const;

  chat::ChatService& chat_;
  cluster::Coordinator& coord_;
  const auth::TokenSigner& signer_;
  VoiceOptions opts_;
};

}  // namespace hype::voice
