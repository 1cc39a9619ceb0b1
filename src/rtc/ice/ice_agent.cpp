#include "rtc/ice/ice_agent.hpp"

#include <algorithm>
#include <utility>

#include "core/random.hpp"

namespace hype::rtc::ice {

IceAgent::IceAgent(IceAgentConfig config) : config_(std::move(config)) {
  if (config_.tie_breaker == 0) config_.tie_breaker = hype::random_u64() | 1;
}

void IceAgent::add_remote_candidate(const SocketAddress& addr, std::uint32_t priority) {
  for (const auto& p : pairs_) {
    if (p.remote == addr) return;
  }
  Pair p;
  p.remote = addr;
  p.priority = priority;
  pairs_.push_back(p);
  // Highest priority first. Transactions refer to pairs by index, so only reorder while
  // nothing is in flight (candidates from SDP arrive before start()).
  if (transactions_.empty() && !selected_) {
    std::stable_sort(pairs_.begin(), pairs_.end(),
                     [](const Pair& a, const Pair& b) { return a.priority > b.priority; });
  }
  if (state_ == IceState::kFailed) set_state(IceState::kChecking);
}

void IceAgent::start(std::int64_t now_ms) {
  if (started_) return;
  started_ = true;
  next_pacing_ms_ = now_ms;
  set_state(IceState::kChecking);
}

std::optional<SocketAddress> IceAgent::selected() const {
  if (!selected_) return previous_selected_;
  return pairs_[*selected_].remote;
}

void IceAgent::set_state(IceState s) {
  if (s == state_) return;
  state_ = s;
  IceEvent e;
  e.type = IceEvent::Type::kStateChanged;
  e.state = s;
  if (selected_) e.selected = pairs_[*selected_].remote;
  events_.push_back(e);
}

void IceAgent::select(std::size_t pair) {
  bool changed = selected() != pairs_[pair].remote;
  selected_ = pair;
  previous_selected_.reset();
  pairs_[pair].nominated = true;
  if (changed) {
    IceEvent e;
    e.type = IceEvent::Type::kSelectedPairChanged;
    e.state = IceState::kConnected;
    e.selected = pairs_[pair].remote;
    events_.push_back(e);
  }
  set_state(IceState::kConnected);
}

void IceAgent::send_check(std::size_t pair, bool use_candidate, bool consent, std::int64_t now_ms) {
  Transaction t;
  t.id = stun::random_transaction_id();
  t.pair = pair;
  t.use_candidate = use_candidate;
  t.consent = consent;
  t.transmissions = 1;
  t.rto_ms = config_.initial_rto_ms;
  t.next_send_ms = now_ms + t.rto_ms;
  std::string username = config_.remote.ufrag + ":" + config_.local.ufrag;
  stun::StunBuilder b(t.packet.data, stun::MessageClass::kRequest, stun::Method::kBinding, t.id);
  b.add_username(username).add_priority(kPeerReflexivePriority);
  b.add_ice_controlling(config_.tie_breaker);
  if (use_candidate) b.add_use_candidate();
  b.add_message_integrity(as_bytes(config_.remote.pwd)).add_fingerprint();
  t.packet.size = b.finish();
  t.packet.to = pairs_[pair].remote;
  if (t.packet.size == 0) return;  // credentials too long for a 256-byte check: cannot happen
  if (consent) {
    // RFC 7675 5.1: consent checks are not retransmitted; a lost one is simply followed by
    // the next one.
    t.transmissions = config_.max_transmissions;
    t.next_send_ms = now_ms + config_.consent_interval_ms;
  }
  tx_queue_.push_back(t.packet);
  if (!consent) {
    pairs_[pair].state = PairState::kInProgress;
    pairs_[pair].nominating = use_candidate;
  }
  transactions_.push_back(std::move(t));
}

void IceAgent::handle_timeout(std::int64_t now_ms) {
  if (!started_) return;
  // Retransmissions and transaction timeouts.
  for (std::size_t i = 0; i < transactions_.size();) {
    Transaction& t = transactions_[i];
    if (now_ms < t.next_send_ms) {
      ++i;
      continue;
    }
    if (t.transmissions >= config_.max_transmissions) {
      Transaction done = std::move(t);
      transactions_.erase(transactions_.begin() + static_cast<long>(i));
      on_transaction_failed(done);
      continue;
    }
    ++t.transmissions;
    t.rto_ms *= 2;
    t.next_send_ms = now_ms + t.rto_ms;
    tx_queue_.push_back(t.packet);
    ++i;
  }
  // Paced ordinary checks: one Waiting pair per Ta, highest priority first.
  if (now_ms >= next_pacing_ms_ && !selected_) {
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (pairs_[i].state == PairState::kWaiting) {
        send_check(i, config_.aggressive_nomination, false, now_ms);
        next_pacing_ms_ = now_ms + config_.pacing_ms;
        break;
      }
    }
  }
  // Consent freshness on the selected pair.
  if (selected_ && next_consent_ms_ >= 0 && now_ms >= next_consent_ms_) {
    if (now_ms - last_consent_ok_ms_ >= config_.consent_timeout_ms) {
      set_state(IceState::kDisconnected);
      next_consent_ms_ = -1;
    } else {
      send_check(*selected_, false, true, now_ms);
      // 0.8-1.2 x interval so many bots do not synchronise (RFC 7675 5.1).
      std::int64_t jitter = static_cast<std::int64_t>(hype::random_u64() % 401) - 200;
      next_consent_ms_ = now_ms + config_.consent_interval_ms * (1000 + jitter) / 1000;
    }
  }
  maybe_fail();
}

std::int64_t IceAgent::next_timeout_ms() const {
  if (!started_) return -1;
  std::int64_t next = -1;
  auto consider = [&next](std::int64_t t) {
    if (t >= 0 && (next < 0 || t < next)) next = t;
  };
  for (const auto& t : transactions_) consider(t.next_send_ms);
  if (!selected_) {
    for (const auto& p : pairs_) {
      if (p.state == PairState::kWaiting) {
        consider(next_pacing_ms_);
        break;
      }
    }
  }
  if (selected_) consider(next_consent_ms_);
  return next;
}

void IceAgent::on_transaction_failed(const Transaction& t) {
  if (t.consent) return;  // consent is judged by the 30 s window, not per transaction
  Pair& p = pairs_[t.pair];
  p.state = PairState::kFailed;
  if (t.use_candidate) {
    p.nominating = false;
    nomination_in_flight_ = false;
  }
}

void IceAgent::maybe_fail() {
  if (selected_ || state_ == IceState::kFailed || pairs_.empty()) return;
  bool all_failed = std::all_of(pairs_.begin(), pairs_.end(),
                                [](const Pair& p) { return p.state == PairState::kFailed; });
  if (all_failed) set_state(IceState::kFailed);
}

void IceAgent::handle_stun(const stun::StunMessage& msg, const SocketAddress& from,
                           std::int64_t now_ms) {
  if (msg.method() != stun::Method::kBinding) return;
  switch (msg.message_class()) {
    case stun::MessageClass::kRequest:
      on_request(msg, from, now_ms);
      break;
    case stun::MessageClass::kSuccessResponse:
    case stun::MessageClass::kErrorResponse:
      on_response(msg, from, now_ms);
      break;
    case stun::MessageClass::kIndication:
      break;
  }
}

void IceAgent::on_response(const stun::StunMessage& msg, const SocketAddress& from,
                           std::int64_t now_ms) {
  auto it = std::find_if(transactions_.begin(), transactions_.end(),
                         [&](const Transaction& t) { return t.id == msg.transaction_id(); });
  if (it == transactions_.end()) return;
  // Responses are signed with the password of the agent that answers: the remote one.
  if (!msg.verify_message_integrity(as_bytes(config_.remote.pwd))) return;
  Transaction t = std::move(*it);
  transactions_.erase(it);
  Pair& p = pairs_[t.pair];
  // RFC 8445 7.2.5.2.1: the response must come from where the request went (symmetry).
  bool ok = msg.message_class() == stun::MessageClass::kSuccessResponse && from == p.remote;
  if (t.consent) {
    if (ok) last_consent_ok_ms_ = now_ms;
    if (ok && state_ == IceState::kDisconnected) set_state(IceState::kConnected);
    return;
  }
  if (!ok) {
    on_transaction_failed(t);
    maybe_fail();
    return;
  }
  p.state = PairState::kSucceeded;
  if (t.use_candidate) {
    p.nominating = false;
    nomination_in_flight_ = false;
    last_consent_ok_ms_ = now_ms;
    next_consent_ms_ = now_ms + config_.consent_interval_ms;
    select(t.pair);
    return;
  }
  // Regular nomination: nominate the first valid pair by repeating the check with
  // USE-CANDIDATE (pairs were sorted by priority, so the first success is usually the best).
  if (!selected_ && !nomination_in_flight_) {
    nomination_in_flight_ = true;
    send_check(t.pair, true, false, now_ms);
  }
}

void IceAgent::on_request(const stun::StunMessage& msg, const SocketAddress& from,
                          std::int64_t now_ms) {
  (void)now_ms;
  RequestCheck c = check_binding_request(msg, config_.local, config_.remote.ufrag,
                                         /*we_are_controlled=*/false);
  if (c == RequestCheck::kRoleConflict) {
    // Both sides controlling (RFC 8445 7.3.1.1): with the larger tie-breaker we keep the
    // role and answer 487. With the smaller one we should switch to controlled; this agent
    // only serves clients of ICE-lite servers (which never send checks), so it answers the
    // check instead and leaves the switch to the peer.
    if (config_.tie_breaker < msg.ice_controlling().value_or(0)) c = RequestCheck::kValid;
  }
  Transmit t;
  t.to = from;
  t.size = write_binding_response(msg, c, from, config_.local.pwd, t.data);
  if (t.size) tx_queue_.push_back(t);
  if (c != RequestCheck::kValid) return;
  // Peer-reflexive remote candidate learned from a check (RFC 8445 7.3.1.3).
  bool known =
      std::any_of(pairs_.begin(), pairs_.end(), [&](const Pair& p) { return p.remote == from; });
  if (!known) {
    Pair p;
    p.remote = from;
    p.priority = msg.priority().value_or(kPeerReflexivePriority);
    pairs_.push_back(p);
  }
}

bool IceAgent::poll_transmit(Transmit& out) {
  if (tx_queue_.empty()) return false;
  out = tx_queue_.front();
  tx_queue_.pop_front();
  return true;
}

bool IceAgent::poll_event(IceEvent& out) {
  if (events_.empty()) return false;
  out = events_.front();
  events_.pop_front();
  return true;
}

void IceAgent::restart(IceCredentials local, IceCredentials remote, std::int64_t now_ms) {
  config_.local = std::move(local);
  config_.remote = std::move(remote);
  transactions_.clear();
  nomination_in_flight_ = false;
  std::optional<SocketAddress> keep = selected();
  for (auto& p : pairs_) {
    p.state = PairState::kWaiting;
    p.nominating = false;
    p.nominated = false;
  }
  // Media keeps using the old selection until the new nomination lands; consent checks stop
  // (the old credentials are gone) so the selection is only a routing hint meanwhile.
  selected_.reset();
  next_consent_ms_ = -1;
  previous_selected_ = keep;
  started_ = true;
  next_pacing_ms_ = now_ms;
  set_state(IceState::kChecking);
}

}  // namespace hype::rtc::ice
