// Full ICE agent in the controlling role (RFC 8445), for hype-bot and other clients that
// connect to an ICE-lite SFU. One local socket (host base), many remote candidates: each
// remote candidate is a pair. Checks carry USERNAME "remote:local", PRIORITY,
// ICE-CONTROLLING with our tie-breaker and MESSAGE-INTEGRITY keyed by the remote password;
// they are paced every Ta and retransmitted with doubling RTO. The first pair to succeed is
// nominated (regular nomination: a second check with USE-CANDIDATE; or aggressive: every
// check carries it). Once connected, consent checks every ~5 s double as keepalives and the
// pair is declared dead after 30 s without a response (RFC 7675).
//
// Limitations: no role switch on 487 (a lite peer never causes one), one local base.
//
// Pure state machine: handle_stun() and handle_timeout() in; poll_transmit() and poll_event()
// out; next_timeout_ms() tells the caller when to call handle_timeout().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "rtc/ice/ice_common.hpp"

namespace hype::rtc::ice {

struct IceAgentConfig {
  IceCredentials local;
  IceCredentials remote;
  std::uint64_t tie_breaker = 0;  // 0: pick a random one
  bool aggressive_nomination = false;
  std::int64_t pacing_ms = 50;        // Ta
  std::int64_t initial_rto_ms = 250;  // RFC 8445 14.3 for a single local candidate
  int max_transmissions = 7;          // Rc
  std::int64_t consent_interval_ms = 5000;
  std::int64_t consent_timeout_ms = kConsentTimeoutMs;
};

struct Transmit {
  SocketAddress to;
  std::size_t size = 0;
  std::array<std::uint8_t, 256> data{};
  ByteSpan bytes() const { return ByteSpan(data.data(), size); }
};

struct IceEvent {
  enum class Type : std::uint8_t { kStateChanged, kSelectedPairChanged };
  Type type = Type::kStateChanged;
  IceState state = IceState::kNew;
  SocketAddress selected;
};

class IceAgent {
 public:
  explicit IceAgent(IceAgentConfig config);

  // Remote candidate from SDP or trickle. Duplicates are ignored.
  void add_remote_candidate(const SocketAddress& addr, std::uint32_t priority);
  // Starts checking (the first check goes out on the next handle_timeout).
  void start(std::int64_t now_ms);

  void handle_stun(const stun::StunMessage& msg, const SocketAddress& from, std::int64_t now_ms);
  void handle_timeout(std::int64_t now_ms);
  std::int64_t next_timeout_ms() const;  // absolute; -1 when idle

  bool poll_transmit(Transmit& out);
  bool poll_event(IceEvent& out);

  // ICE restart: new credentials on both sides, pairs are checked again from scratch while
  // the current selection stays usable until a new pair is nominated.
  void restart(IceCredentials local, IceCredentials remote, std::int64_t now_ms);

  IceState state() const { return state_; }
  // The nominated remote address (during an ICE restart: the previous one until the new
  // nomination succeeds).
  std::optional<SocketAddress> selected() const;
  std::uint64_t tie_breaker() const { return config_.tie_breaker; }

 private:
  enum class PairState : std::uint8_t { kWaiting, kInProgress, kSucceeded, kFailed };
  struct Pair {
    SocketAddress remote;
    std::uint32_t priority = 0;
    PairState state = PairState::kWaiting;
    bool nominating = false;  // the in-flight check carries USE-CANDIDATE
    bool nominated = false;
  };
  struct Transaction {
    stun::TransactionId id{};
    std::size_t pair = 0;
    bool use_candidate = false;
    bool consent = false;
    int transmissions = 0;
    std::int64_t next_send_ms = 0;
    std::int64_t rto_ms = 0;
    Transmit packet;
  };

  void send_check(std::size_t pair, bool use_candidate, bool consent, std::int64_t now_ms);
  void on_response(const stun::StunMessage& msg, const SocketAddress& from, std::int64_t now_ms);
  void on_request(const stun::StunMessage& msg, const SocketAddress& from, std::int64_t now_ms);
  void on_transaction_failed(const Transaction& t);
  void set_state(IceState s);
  void select(std::size_t pair);
  void maybe_fail();

  IceAgentConfig config_;
  IceState state_ = IceState::kNew;
  bool started_ = false;
  std::vector<Pair> pairs_;
  std::vector<Transaction> transactions_;
  std::deque<Transmit> tx_queue_;
  std::deque<IceEvent> events_;
  std::optional<std::size_t> selected_;
  std::optional<SocketAddress> previous_selected_;  // during an ICE restart
  bool nomination_in_flight_ = false;
  std::int64_t next_pacing_ms_ = 0;
  std::int64_t next_consent_ms_ = -1;
  std::int64_t last_consent_ok_ms_ = 0;
};

}  // namespace hype::rtc::ice
