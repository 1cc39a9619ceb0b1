// SFU signaling with last-N slots: a real SfuService (one worker on a loopback UDP port) and
// fake WebSocket connections. Media never flows here; what is checked is the offer's stream
// list, the `slots` events and that joins beyond N do not renegotiate. Waits are on
// conditions with generous deadlines, never on fixed sleeps.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "rtc/dtls_certificate.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/sdp/sdp.hpp"
#include "sfu/sfu_service.hpp"
#include "telemetry/quality_metrics.hpp"

namespace json = boost::json;
using namespace hype;

namespace {

constexpr std::uint64_t kChannel = 7;

class FakeWs : public net::WsConnection {
 public:
  void send(std::string text) override {
    std::lock_guard lock(mu_);
    frames_.push_back(json::parse(text).as_object());
  }
  void close(int code, std::string) override {
    std::lock_guard lock(mu_);
    if (!closed_) closed_ = code;  // a real socket is gone after its first close
  }
  std::size_t queued() const override { return 0; }
  int closed_code() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  const std::string& remote_ip() const override { return ip_; }

  // Position of the first frame of `op` among all frames sent (npos: none).
  std::size_t index_of(std::string_view op) const {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < frames_.size(); ++i)
      if (frames_[i].at("op").as_string() == op) return i;
    return std::string::npos;
  }
  std::vector<json::object> frames(std::string_view op) const {
    std::lock_guard lock(mu_);
    std::vector<json::object> out;
    for (auto& f : frames_)
      if (f.at("op").as_string() == op) out.push_back(f.at("d").as_object());
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<json::object> frames_;
  int closed_ = 0;
  std::string ip_ = "127.0.0.1";
};

std::string client_offer(std::uint32_t ssrc, const std::string& fingerprint) {
  rtc::sdp::SessionDescription sd;
  sd.session_id = ssrc;
  sd.msid_semantic = "WMS *";
  rtc::sdp::MediaSection m;
  m.kind = "audio";
  m.formats = {"111"};
  m.mid = "0";
  m.direction = rtc::sdp::Direction::kSendRecv;
  m.rtcp_mux = true;
  m.ice_ufrag = "uf" + std::to_string(ssrc);
  m.ice_pwd = "pwpwpwpwpwpwpwpwpwpwpwpw";
  m.fingerprint = fingerprint;
  m.setup = rtc::sdp::Setup::kActpass;
  m.codecs.push_back({111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {}});
  m.extmaps.push_back({1, "", std::string(rtc::ext_uri::kAudioLevel), ""});
  m.msids.push_back("c c-audio");
  m.ssrcs.push_back({ssrc, "cname", "c"});
  sd.media.push_back(std::move(m));
  sd.groups.push_back({"BUNDLE", {"0"}});
  return rtc::sdp::write(sd);
}

// A stream connection's offer: a recvonly video section (to watch) and a recvonly audio one,
// and when `share`, a sendonly video section with RTX (a=ssrc-group:FID) as Chromium offers
// a shared screen. `codec` is the only video codec it offers (with rtx).
// `simulcast`: the shared video as three rid layers q/h/f (no SSRCs), as the web client sends.
std::string stream_offer(std::uint32_t ssrc, const std::string& fingerprint, bool share,
                         const std::string& codec = "VP8", bool simulcast = false) {
  rtc::sdp::SessionDescription sd;
  sd.session_id = ssrc;
  sd.msid_semantic = "WMS *";
  auto section = [&](const std::string& kind, const std::string& mid, rtc::sdp::Direction dir) {
    rtc::sdp::MediaSection m;
    m.kind = kind;
    m.mid = mid;
    m.direction = dir;
    m.rtcp_mux = true;
    m.ice_ufrag = "uf" + std::to_string(ssrc);
    m.ice_pwd = "pwpwpwpwpwpwpwpwpwpwpwpw";
    m.fingerprint = fingerprint;
    m.setup = rtc::sdp::Setup::kActpass;
    if (kind == "audio") {
      m.formats = {"111"};
      m.codecs.push_back({111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {}});
    } else {
      m.formats = {"96", "97"};
      std::string fmtp = codec == "H264" ? "packetization-mode=1;profile-level-id=42e01f" : "";
      m.codecs.push_back({96, codec, 90000, 0, fmtp, {"nack", "nack pli", "transport-cc"}});
      m.codecs.push_back({97, "rtx", 90000, 0, "apt=96", {}});
    }
    m.extmaps.push_back({3, "", std::string(rtc::ext_uri::kTransportCc), ""});
    return m;
  };
  sd.media.push_back(section("video", "0", rtc::sdp::Direction::kRecvOnly));
  sd.media.push_back(section("audio", "1", rtc::sdp::Direction::kRecvOnly));
  sd.groups.push_back({"BUNDLE", {"0", "1"}});
  if (share) {
    auto v = section("video", "2", rtc::sdp::Direction::kSendOnly);
    v.msids.push_back("screen screen-video");
    if (simulcast) {
      v.extmaps.push_back({4, "", std::string(rtc::ext_uri::kMid), ""});
      v.extmaps.push_back({10, "", std::string(rtc::ext_uri::kRid), ""});
      rtc::sdp::Simulcast sim;
      for (const char* rid : {"q", "h", "f"}) {
        v.rids.push_back({rid, "send", ""});
        sim.send.push_back({rid});
      }
      v.simulcast = sim;
    } else {
      v.ssrcs.push_back({ssrc, "cname", "c"});
      v.ssrcs.push_back({ssrc + 1, "cname", "c"});
      v.ssrc_groups.push_back({"FID", {ssrc, ssrc + 1}});
    }
    sd.media.push_back(std::move(v));
    sd.groups.back().mids.push_back("2");
  }
  return rtc::sdp::write(sd);
}

struct Client {
  std::uint64_t user = 0;
  std::size_t answered = 0;  // server offers answered so far
  std::shared_ptr<FakeWs> ws;
  std::shared_ptr<net::WsListener> listener;

  void send(std::string_view op, json::object d) {
    listener->on_message(json::serialize(json::object{{"op", op}, {"d", std::move(d)}}), true);
  }
  // user id -> mid, from the latest slots event.
  std::map<std::string, std::string> slot_of() const {
    std::map<std::string, std::string> out;
    auto ev = ws->frames("slots");
    if (ev.empty()) return out;
    for (auto& s : ev.back().at("slots").as_array())
      if (!s.at("user_id").is_null())
        out[std::string(s.at("user_id").as_string())] = std::string(s.at("mid").as_string());
    return out;
  }
};

class SfuSignaling : public ::testing::Test {
 protected:
  void SetUp() override {
    sfu::SfuOptions o;
    o.workers = 1;
    o.bind_ip = "127.0.0.1";
    o.announced_port = announced_port;
    o.audio_ptime_busy_at = ptime_busy_at;
    o.max_forwarded_speakers = 2;
    o.quality = &quality;
    o.state_repair_grace = std::chrono::milliseconds(300);
    o.on_stream = [this](std::uint64_t, std::uint64_t user, bool live,
                         std::vector<std::uint64_t> viewers) {
      reports.push_back({user, live, std::move(viewers)});
    };
    auto verify = [](const std::string& token, std::string&) -> std::optional<sfu::VoiceIdentity> {
      return sfu::VoiceIdentity{std::stoull(token), kChannel, 1};
    };
    auto grant = [this](const sfu::VoiceIdentity& who) -> std::optional<sfu::SessionGrant> {
      if (revoked.count(who.user)) return std::nullopt;
      return sfu::SessionGrant{!silenced.count(who.user), !not_live.count(who.user)};
    };
    if (!async_grant) {
      svc = std::make_unique<sfu::SfuService>(io.get_executor(), o, verify, grant);
    } else {
      // As the Coordinator on Redis answers: later (a timer here), or `unknown` while the
      // store is unreachable.
      svc = std::make_unique<sfu::SfuService>(
          io.get_executor(), o, verify,
          sfu::CheckVoiceGrantAsync([this, grant](const sfu::VoiceIdentity& who,
                                                  sfu::GrantDone done) {
            ++grant_checks;
            sfu::GrantAnswer answer{grant(who), unreachable, generation};
            if (unreachable) answer.grant.reset();
            auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(30));
            t->async_wait(
                [t, done = std::move(done), answer](boost::system::error_code) { done(answer); });
          }));
    }
    svc->start();
    cert = rtc::DtlsCertificate::generate("test").value();
  }
  void TearDown() override {
    guard.reset();
    svc->stop();
    svc.reset();
  }

  Client& join(std::uint64_t user) {
    Client c;
    c.user = user;
    c.ws = std::make_shared<FakeWs>();
    c.listener = svc->open(c.ws, net::HttpRequest{});
    c.send("identify", {{"token", std::to_string(user)}, {"channel_id", std::to_string(kChannel)}});
    c.send("offer",
           {{"sdp", client_offer(static_cast<std::uint32_t>(user * 11), cert->sdp_fingerprint())}});
    clients[user] = c;
    return clients[user];
  }
  // User `user`'s stream connection (clients key user + 1000), sharing its screen or not.
  Client& join_stream(std::uint64_t user, bool share, const std::string& codec = "VP8",
                      bool simulcast = false) {
    Client c;
    c.user = user;
    c.ws = std::make_shared<FakeWs>();
    c.listener = svc->open(c.ws, net::HttpRequest{});
    c.send("identify", {{"token", std::to_string(user)},
                        {"channel_id", std::to_string(kChannel)},
                        {"kind", "stream"}});
    c.send("offer", {{"sdp", stream_offer(static_cast<std::uint32_t>(user * 1000),
                                          cert->sdp_fingerprint(), share, codec, simulcast)}});
    clients[user + 1000] = c;
    return clients[user + 1000];
  }
  static std::string last_streams(const Client& c) {
    auto ev = c.ws->frames("streams");
    return ev.empty() ? "" : json::serialize(ev.back().at("streams"));
  }
  static std::vector<std::string> errors(const Client& c) {
    std::vector<std::string> out;
    for (auto& e : c.ws->frames("error")) out.emplace_back(e.at("code").as_string());
    return out;
  }
  // Runs the io_context until pred() holds (false after 10 s: a failure, not a flake).
  // Every client answers the server's offers as they arrive, as a real one does (the
  // server has one offer in flight at a time).
  template <typename Pred>
  bool until(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (auto& [id, c] : clients) answer_new_offers(c);
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Runs the io_context (as until() does) for `d`.
  void run_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    until([&] { return std::chrono::steady_clock::now() >= end; });
  }
  void answer_new_offers(Client& c) {
    auto offers = c.ws->frames("offer");
    for (; c.answered < offers.size(); ++c.answered)
      c.send("answer", {{"sdp", "unused"}, {"version", offers[c.answered].at("version")}});
  }

  metrics::Registry registry;
  telemetry::QualityMetrics quality{registry};
  boost::asio::io_context io;
  // run_for() blocks for its whole slice even when only the workers have work in flight.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::unique_ptr<sfu::SfuService> svc;
  std::shared_ptr<rtc::DtlsCertificate> cert;
  std::map<std::uint64_t, Client> clients;
  // The voice grant as the test sets it (read on the signaling strand, which runs here).
  std::set<std::uint64_t> revoked, silenced, not_live;
  struct Report {
    std::uint64_t user;
    bool live;
    std::vector<std::uint64_t> viewers;
  };
  std::vector<Report> reports;       // what the SFU reported for STREAM_UPDATE
  std::uint16_t announced_port = 0;  // set before SetUp by fixtures that need it
  int ptime_busy_at = 300;           // sfu.audio_ptime_busy_at, set before SetUp
  bool async_grant = false;          // set before SetUp: grants answered later
  bool unreachable = false;          // async grants: the store cannot be read
  std::string generation = "g1";     // async grants: the store's generation
  int grant_checks = 0;
};

// The voice grant answered asynchronously (the Coordinator on Redis, in a cluster).
class SfuAsyncGrant : public SfuSignaling {
 protected:
  void SetUp() override {
    async_grant = true;
    SfuSignaling::SetUp();
  }
};

TEST_F(SfuAsyncGrant, FramesSentBeforeReadyWaitForTheGrantAndAreHandledInOrder) {
  Client& a = join(1);  // identify and offer back to back, before the grant's answer
  ASSERT_TRUE(until([&] { return !a.ws->frames("answer").empty(); }));
  EXPECT_EQ(a.ws->closed_code(), 0);
  EXPECT_EQ(errors(a), std::vector<std::string>{});
  ASSERT_FALSE(a.ws->frames("ready").empty());
  // ready came before the answer to the held offer.
  EXPECT_LT(a.ws->index_of("ready"), a.ws->index_of("answer"));
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return a.slot_of().count("2") == 1; }));
  EXPECT_EQ(b.ws->closed_code(), 0);
}

TEST_F(SfuAsyncGrant, AStateThatCannotBeReadRefusesIdentifyWithTryAgain) {
  unreachable = true;
  Client& c = join(5);
  ASSERT_TRUE(until([&] { return c.ws->closed_code() != 0; }));
  EXPECT_EQ(c.ws->closed_code(), 4012);
  EXPECT_EQ(errors(c), std::vector<std::string>{"voice_state_unavailable"});
  EXPECT_TRUE(c.ws->frames("ready").empty());
  EXPECT_TRUE(c.ws->frames("answer").empty()) << "the held offer is dropped with it";
}

TEST_F(SfuAsyncGrant, ARunningSessionKeepsItsGrantWhileTheStateCannotBeRead) {
  Client& a = join(1);
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return a.slot_of().count("2") == 1; }));
  unreachable = true;
  revoked.insert(2);  // not readable: nothing may be concluded from it
  int before = grant_checks;
  svc->recheck_user(2);
  // Two sweeps (one a second) and the recheck come and go; b stays.
  ASSERT_TRUE(until([&] { return grant_checks >= before + 5; }));
  EXPECT_EQ(b.ws->closed_code(), 0);
  EXPECT_EQ(a.ws->closed_code(), 0);
  // Readable again: the revocation now ends b's session.
  unreachable = false;
  ASSERT_TRUE(until([&] { return b.ws->closed_code() == 4006; }));
}

// The store restarted empty (another generation): the state is gone but nobody took the right
// away. The session goes on and its client is asked to write the state back (`state_lost`);
// written back (same session), the session keeps going under the new generation, where a real
// revocation ends it (4006). Not written back within the grace: asked to rejoin (4012), never
// ended as revoked.
TEST_F(SfuAsyncGrant, AStateForgottenByAResetStoreIsWrittenBackWhileMediaGoesOn) {
  Client& a = join(1);
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return a.slot_of().count("2") == 1; }));
  generation = "g2";
  revoked.insert(2);
  svc->recheck_user(2);
  ASSERT_TRUE(until([&] { return !b.ws->frames("state_lost").empty(); }));
  auto lost = b.ws->frames("state_lost").front();
  EXPECT_EQ(lost.at("channel_id").as_string(), std::to_string(kChannel));
  EXPECT_EQ(lost.at("session").as_string(), "1");
  revoked.erase(2);  // the client's join wrote the state back under its session
  svc->recheck_user(2);
  run_for(std::chrono::milliseconds(600));  // past the grace: checks found the state again
  svc->recheck_user(2);
  run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b.ws->closed_code(), 0) << "media never stopped";
  EXPECT_TRUE(errors(b).empty());
  EXPECT_GE(b.ws->frames("state_lost").size(), 1U);
  const auto repeats = b.ws->frames("state_lost").size();
  svc->recheck_user(2);
  run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b.ws->frames("state_lost").size(), repeats) << "written back: no more asking";
  EXPECT_TRUE(a.ws->frames("participant_leave").empty());
  revoked.insert(2);  // now removed from the new store: a revocation
  svc->recheck_user(2);
  ASSERT_TRUE(until([&] { return b.ws->closed_code() != 0; }));
  EXPECT_EQ(b.ws->closed_code(), 4006);

  // Forgotten again (another reset) and never written back: after the grace, join again.
  Client& d = join(4);
  ASSERT_TRUE(until([&] { return !d.ws->frames("ready").empty(); }));
  generation = "g3";
  revoked.insert(4);
  svc->recheck_user(4);
  ASSERT_TRUE(until([&] { return !d.ws->frames("state_lost").empty(); }));
  EXPECT_EQ(d.ws->closed_code(), 0);
  ASSERT_TRUE(until([&] { return d.ws->closed_code() != 0; }));  // the sweep, past the grace
  EXPECT_EQ(d.ws->closed_code(), 4012);
  EXPECT_EQ(errors(d), std::vector<std::string>{"voice_state_lost"});
  ASSERT_TRUE(until([&] { return a.ws->frames("participant_leave").size() == 2; }));
  // Gone from the store of its own generation: a real revocation.
  Client& c = join(3);
  ASSERT_TRUE(until([&] { return !c.ws->frames("ready").empty(); }));
  revoked.insert(3);
  svc->recheck_user(3);
  ASSERT_TRUE(until([&] { return c.ws->closed_code() != 0; }));
  EXPECT_EQ(c.ws->closed_code(), 4006);
}

TEST_F(SfuAsyncGrant, TooManyFramesBeforeReadyCloseTheConnection) {
  Client c;
  c.user = 7;
  c.ws = std::make_shared<FakeWs>();
  c.listener = svc->open(c.ws, net::HttpRequest{});
  c.send("identify", {{"token", "7"}, {"channel_id", std::to_string(kChannel)}});
  for (int i = 0; i < 17; ++i) c.send("quality", {{"interval_s", 10}});
  clients[7] = c;
  ASSERT_TRUE(until([&] { return clients[7].ws->closed_code() != 0; }));
  EXPECT_EQ(clients[7].ws->closed_code(), 4002);
}

// ICE candidates name a relay in front of the SFU (hype-netlab) when sfu.announced_port is set.
class SfuAnnouncedPort : public SfuSignaling {
 protected:
  void SetUp() override {
    announced_port = 40123;
    SfuSignaling::SetUp();
  }
};

class SfuPtimeBusy : public SfuSignaling {
 protected:
  void SetUp() override {
    ptime_busy_at = 2;
    SfuSignaling::SetUp();
  }
  // The a=ptime of `user`'s answer ("" when none yet or none said).
  std::string answered_ptime(std::uint64_t user) {
    Client& c = clients[user];
    if (!until([&] { return !c.ws->frames("answer").empty(); })) return "";
    std::string sdp(c.ws->frames("answer").back().at("sdp").as_string());
    auto at = sdp.find("a=ptime:");
    return at == std::string::npos ? "" : sdp.substr(at + 8, sdp.find('\r', at) - at - 8);
  }
};

}  // namespace

TEST_F(SfuSignaling, OfferListsSlotsAndSlotsEventNamesTheirUsers) {
  Client& a = join(1);
  join(2);
  join(3);
  ASSERT_TRUE(until([&] {
    auto offers = a.ws->frames("offer");
    return !offers.empty() && offers.back().at("streams").as_array().size() == 2 &&
           a.slot_of().size() == 2;
  }));
  auto offer = a.ws->frames("offer").back();
  std::set<std::string> mids;
  for (auto& v : offer.at("streams").as_array()) {
    auto& s = v.as_object();
    EXPECT_EQ(s.at("kind").as_string(), "audio");
    EXPECT_FALSE(s.contains("user_id"));
    std::int64_t slot = s.at("slot").as_int64();
    EXPECT_EQ(s.at("mid").as_string(), "a" + std::to_string(slot));
    mids.insert(std::string(s.at("mid").as_string()));
    EXPECT_GT(s.at("ssrc").to_number<std::uint64_t>(), 0u);
  }
  EXPECT_EQ(mids, (std::set<std::string>{"a0", "a1"}));
  std::string sdp(offer.at("sdp").as_string());
  EXPECT_NE(sdp.find("a=mid:a0"), std::string::npos);
  EXPECT_NE(sdp.find("a=msid:slot1 slot1-audio"), std::string::npos);
  EXPECT_NE(sdp.find("a=sendonly"), std::string::npos);
  // The two others, one per slot; never the subscriber itself.
  auto slots = a.slot_of();
  EXPECT_EQ(slots.count("1"), 0u);
  EXPECT_EQ(slots.count("2"), 1u);
  EXPECT_EQ(slots.count("3"), 1u);
  EXPECT_NE(slots["2"], slots["3"]);
}

TEST_F(SfuSignaling, JoinsBeyondNDoNotRenegotiateAndLeaversAreReplacedInPlace) {
  Client& a = join(1);
  join(2);
  join(3);
  ASSERT_TRUE(until([&] { return a.slot_of().size() == 2; }));
  answer_new_offers(a);
  std::size_t offers_before = a.ws->frames("offer").size();
  std::map<std::string, std::string> before = a.slot_of();

  // A fourth participant: the channel is bigger than N=2, it gets 2 slots of its own and
  // nobody else's m-sections change.
  Client& d = join(4);
  ASSERT_TRUE(until([&] { return d.slot_of().size() == 2; }));
  EXPECT_EQ(d.ws->frames("offer").back().at("streams").as_array().size(), 2u);
  // Give any (wrong) renegotiation of `a` time to show up: it would have been batched
  // before d's offer went out.
  io.restart();
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(a.ws->frames("offer").size(), offers_before);
  EXPECT_EQ(a.slot_of(), before);

  // 2 leaves: its slot at `a` is taken by someone else (4), 3 keeps its mid.
  clients[2].listener->on_close();
  ASSERT_TRUE(until([&] { return a.slot_of().count("2") == 0 && a.slot_of().size() == 2; }));
  auto after = a.slot_of();
  EXPECT_EQ(after["3"], before["3"]);
  EXPECT_EQ(after["4"], before["2"]);
  EXPECT_EQ(a.ws->frames("offer").size(), offers_before);
}

TEST_F(SfuSignaling, IdentifyIsRefusedWhenTheVoiceStateNoLongerStands) {
  revoked.insert(5);
  Client& c = join(5);
  ASSERT_TRUE(until([&] { return c.ws->closed_code() != 0; }));
  EXPECT_EQ(c.ws->closed_code(), 4004);
  auto err = c.ws->frames("error");
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.front().at("code").as_string(), "auth_failed");
  EXPECT_TRUE(c.ws->frames("ready").empty());
}

TEST_F(SfuSignaling, RecheckEndsARevokedSessionAndTellsTheRoom) {
  Client& a = join(1);
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return a.slot_of().count("2") == 1; }));
  revoked.insert(2);
  svc->recheck_user(2);
  ASSERT_TRUE(until([&] { return b.ws->closed_code() != 0; }));
  EXPECT_EQ(b.ws->closed_code(), 4006);
  auto err = b.ws->frames("error");
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back().at("code").as_string(), "voice_state_ended");
  // The others see the leave at once: the room is torn down without waiting for the close
  // handshake (the fake socket never reports on_close).
  ASSERT_TRUE(until([&] { return !a.ws->frames("participant_leave").empty(); }));
  EXPECT_EQ(a.ws->frames("participant_leave").back().at("user_id").as_string(), "2");
  // Its media session is gone from the worker too.
  ASSERT_TRUE(until([&] { return svc->stats().participants == 1; }));
  // A later close of the revoked socket changes nothing more.
  std::size_t leaves = a.ws->frames("participant_leave").size();
  b.listener->on_close();
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(a.ws->frames("participant_leave").size(), leaves);
}

TEST_F(SfuSignaling, TheSweepEndsASessionWhoseEventWasLost) {
  Client& a = join(1);
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return !b.ws->frames("ready").empty(); }));
  revoked.insert(2);  // no recheck_user(): only the once-a-second sweep can notice
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(until([&] { return b.ws->closed_code() == 4006; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  ASSERT_TRUE(until([&] { return !a.ws->frames("participant_leave").empty(); }));
}

// A draining node tells every connection of a moved channel where it went, voice and stream
// connections alike, and ends none of them (the client connects there first).
TEST_F(SfuSignaling, AMovedChannelTellsEveryConnectionItsNewNode) {
  Client& a = join(1);
  Client& b = join(2);
  Client& s = join_stream(1, false);
  ASSERT_TRUE(until([&] {
    return !a.ws->frames("ready").empty() && !b.ws->frames("ready").empty() &&
           !s.ws->frames("ready").empty();
  }));
  svc->server_update(kChannel + 1, {"node-x", "ws://x/voice", "eu"});  // another channel
  svc->server_update(kChannel, {"node-2", "ws://10.0.0.2:8080/voice", "us"});
  ASSERT_TRUE(until([&] {
    return !a.ws->frames("server_update").empty() && !b.ws->frames("server_update").empty() &&
           !s.ws->frames("server_update").empty();
  }));
  for (Client* c : {&a, &b, &s}) {
    auto frames = c->ws->frames("server_update");
    ASSERT_EQ(frames.size(), 1U);
    auto& u = frames.front();
    EXPECT_EQ(u.at("channel_id").as_string(), std::to_string(kChannel));
    EXPECT_EQ(u.at("sfu").at("id").as_string(), "node-2");
    EXPECT_EQ(u.at("sfu").at("url").as_string(), "ws://10.0.0.2:8080/voice");
    EXPECT_EQ(u.at("sfu").at("region").as_string(), "us");
    EXPECT_EQ(c->ws->closed_code(), 0);
  }
}

// A node that lost its channel while cut off (the lease check found it on another node) tells
// its connections where the channel is now, gives them a moment to connect there, then ends
// them with "join again" (4012): the channel never runs on two nodes for long.
TEST_F(SfuSignaling, ARoomReleasedToAnotherNodeTellsItsConnectionsThenEndsThem) {
  Client& a = join(1);
  Client& b = join(2);
  ASSERT_TRUE(until([&] { return svc->stats().participants == 2; }));
  svc->release_room(kChannel, {"node-2", "ws://n2/voice", "eu"}, std::chrono::milliseconds(300));
  ASSERT_TRUE(until([&] {
    return !a.ws->frames("server_update").empty() && !b.ws->frames("server_update").empty();
  }));
  EXPECT_EQ(a.ws->closed_code(), 0) << "not before the grace";
  EXPECT_EQ(a.ws->frames("server_update").front().at("sfu").at("id").as_string(), "node-2");
  ASSERT_TRUE(until([&] { return a.ws->closed_code() != 0 && b.ws->closed_code() != 0; }));
  for (Client* c : {&a, &b}) {
    EXPECT_EQ(c->ws->closed_code(), 4012);
    auto err = c->ws->frames("error");
    ASSERT_FALSE(err.empty());
    EXPECT_EQ(err.back().at("code").as_string(), "channel_moved");
  }
  ASSERT_TRUE(until([&] { return svc->stats().participants == 0; }));
}

TEST_F(SfuSignaling, LosingSpeakServerMutesAndGettingItBackUnmutes) {
  Client& a = join(1);
  join(2);
  ASSERT_TRUE(until([&] { return !a.ws->frames("ready").empty(); }));
  silenced.insert(2);
  svc->recheck_user(2);
  ASSERT_TRUE(until([&] { return !a.ws->frames("mute").empty(); }));
  auto m = a.ws->frames("mute").back();
  EXPECT_EQ(m.at("user_id").as_string(), "2");
  EXPECT_TRUE(m.at("server_mute").as_bool());
  EXPECT_EQ(clients[2].ws->closed_code(), 0);
  silenced.erase(2);
  svc->recheck_user(2);
  ASSERT_TRUE(until([&] { return a.ws->frames("mute").size() == 2; }));
  EXPECT_FALSE(a.ws->frames("mute").back().at("server_mute").as_bool());
}

// Issue 13, defect 3: an offer without a DTLS fingerprint was answered, the worker then
// refused the session, and the connection stayed "published": a corrected offer got an
// answer but no transport. Now it is refused up front and nothing is half set up.
TEST_F(SfuSignaling, OfferWithoutFingerprintIsRefusedAndACorrectedOneConnects) {
  Client c;
  c.user = 1;
  c.ws = std::make_shared<FakeWs>();
  c.listener = svc->open(c.ws, net::HttpRequest{});
  c.send("identify", {{"token", "1"}, {"channel_id", std::to_string(kChannel)}});
  std::string good = client_offer(11, cert->sdp_fingerprint());
  std::string bad = good;
  auto at = bad.find("a=fingerprint:");
  ASSERT_NE(at, std::string::npos);
  bad.erase(at, bad.find("\r\n", at) + 2 - at);
  c.send("offer", {{"sdp", bad}});
  clients[1] = c;
  ASSERT_TRUE(until([&] { return !c.ws->frames("error").empty(); }));
  auto err = c.ws->frames("error").back();
  EXPECT_EQ(err.at("code").as_string(), "invalid_sdp");
  EXPECT_NE(std::string(err.at("message").as_string()).find("fingerprint"), std::string::npos);
  EXPECT_TRUE(c.ws->frames("answer").empty());
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(svc->stats().connections, 0u);  // no worker session was added

  c.send("offer", {{"sdp", good}});
  ASSERT_TRUE(until([&] { return !c.ws->frames("answer").empty(); }));
  ASSERT_TRUE(until([&] { return svc->stats().connections == 1; }));
  EXPECT_EQ(c.ws->frames("error").size(), 1u);
  EXPECT_EQ(svc->stats().error_sdp, 1u);  // voice_errors_total{kind="invalid_sdp"}
  EXPECT_EQ(svc->stats().funnel_signaled, 1u);
}

TEST_F(SfuAnnouncedPort, AnswerCandidateNamesTheAnnouncedPort) {
  Client& c = join(1);
  ASSERT_TRUE(until([&] { return !c.ws->frames("answer").empty(); }));
  std::string sdp(c.ws->frames("answer").back().at("sdp").as_string());
  EXPECT_NE(sdp.find(" 127.0.0.1 40123 typ host"), std::string::npos) << sdp;
}

TEST(SfuServiceOptions, AnnouncedPortNeedsOneWorker) {
  boost::asio::io_context io;
  sfu::SfuOptions o;
  o.workers = 2;
  o.bind_ip = "127.0.0.1";
  o.announced_port = 40123;
  sfu::SfuService svc(
      io.get_executor(), o,
      [](const std::string&, std::string&) -> std::optional<sfu::VoiceIdentity> {
        return std::nullopt;
      },
      [](const sfu::VoiceIdentity&) -> std::optional<sfu::SessionGrant> { return std::nullopt; });
  EXPECT_THROW(svc.start(), std::runtime_error);
}

// ---- quality reports and the join funnel ----

TEST_F(SfuSignaling, QualityReportsAreAggregatedBoundedAndSpaced) {
  Client& a = join(1);
  ASSERT_TRUE(until([&] { return !a.ws->frames("answer").empty(); }));
  json::object report{{"interval_s", 10},
                      {"mode", "sfu"},
                      {"rtt_s", 0.03},
                      {"audio_in", json::array{json::object{{"packets_received", 480},
                                                            {"packets_lost", 20},
                                                            {"jitter_s", 0.002},
                                                            {"jitter_buffer_s", 0.04}}}}};
  auto& loss = registry.histogram("voice_packet_loss_ratio", "", {}).get();
  a.send("quality", report);
  ASSERT_TRUE(until([&] { return loss.count() == 1; }));
  EXPECT_NEAR(loss.sum(), 0.04, 1e-9);
  // A second report within 4 s is refused and counted; the histogram does not move.
  a.send("quality", report);
  ASSERT_TRUE(until([&] { return !errors(a).empty(); }));
  EXPECT_EQ(errors(a).back(), "rate_limited");
  // An out-of-bounds report from another connection is refused whole, naming the field.
  Client& b = join(2);
  report["audio_in"].as_array()[0].as_object()["packets_lost"] = 1e6;
  b.send("quality", report);
  ASSERT_TRUE(until([&] { return !b.ws->frames("error").empty(); }));
  auto err = b.ws->frames("error").back();
  EXPECT_EQ(err.at("code").as_string(), "invalid_report");
  EXPECT_NE(std::string(err.at("message").as_string()).find("packets_lost"), std::string::npos);
  EXPECT_EQ(loss.count(), 1u);
  auto& reports = registry.counter("voice_quality_reports_total", "", {"result"});
  EXPECT_EQ(reports.with({"accepted"}).value(), 1);
  EXPECT_EQ(reports.with({"rejected"}).value(), 2);
  // Stream connections and unknown ops: counted as signaling errors, not as joins.
  a.send("no_such_op", {});
  ASSERT_TRUE(until([&] { return svc->stats().error_signaling == 1; }));
  EXPECT_EQ(svc->stats().funnel_signaled, 2u);
}

// ---- streams (screen share) ----

TEST_F(SfuSignaling, AStreamConnectionIsNotAParticipantAndLivesBesideTheVoiceOne) {
  Client& a = join(1);
  ASSERT_TRUE(until([&] { return !a.ws->frames("ready").empty(); }));
  Client& s = join_stream(1, false);
  Client& t = join_stream(2, false);
  ASSERT_TRUE(
      until([&] { return !s.ws->frames("answer").empty() && !t.ws->frames("answer").empty(); }));
  auto ready = t.ws->frames("ready").at(0);
  EXPECT_EQ(ready.at("kind").as_string(), "stream");
  EXPECT_TRUE(ready.at("participants").as_array().empty());
  EXPECT_EQ(last_streams(t), "[]");  // the streams event follows ready
  io.restart();
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(a.ws->frames("participant_join").empty());
  EXPECT_EQ(a.ws->closed_code(), 0);  // user 1's stream connection did not replace its voice one
  EXPECT_EQ(s.ws->closed_code(), 0);
  // Nor do stream connections get audio slots (no server offer with slots for them).
  EXPECT_TRUE(t.ws->frames("slots").empty());
}

TEST_F(SfuSignaling, AScreenOfferedWithoutGoingLiveIsRefused) {
  not_live.insert(1);
  Client& s = join_stream(1, true);
  ASSERT_TRUE(until([&] { return !s.ws->frames("answer").empty(); }));
  ASSERT_TRUE(until([&] { return !errors(s).empty(); }));
  EXPECT_EQ(errors(s).back(), "stream_denied");
  auto answer = rtc::sdp::parse(std::string(s.ws->frames("answer").back().at("sdp").as_string()));
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ(answer->media.size(), 3u);
  EXPECT_TRUE(answer->media[2].rejected());   // the screen section
  EXPECT_FALSE(answer->media[0].rejected());  // watching still works
  EXPECT_EQ(last_streams(s), "[]");
  EXPECT_TRUE(reports.empty());
}

TEST_F(SfuSignaling, StreamsAreForwardedOnlyToThoseWhoWatch) {
  Client& a = join(1);  // a voice member sees streams too
  join_stream(1, true);
  Client& v = join_stream(2, false);
  Client& w = join_stream(3, false);
  ASSERT_TRUE(
      until([&] { return !v.ws->frames("answer").empty() && !w.ws->frames("answer").empty(); }));
  ASSERT_TRUE(until([&] { return last_streams(a) == R"([{"user_id":"1","viewer_ids":[]}])"; }));
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(reports.back().live);
  // Nobody watches yet: no server offer carries the stream.
  EXPECT_TRUE(v.ws->frames("offer").empty());
  v.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return !v.ws->frames("offer").empty(); }));
  auto streams = v.ws->frames("offer").back().at("streams").as_array();
  ASSERT_EQ(streams.size(), 1u);  // the stream has no audio: one video section
  EXPECT_EQ(streams[0].at("user_id").as_string(), "1");
  EXPECT_EQ(streams[0].at("kind").as_string(), "video");
  EXPECT_EQ(streams[0].at("source").as_string(), "screen");
  auto offer = rtc::sdp::parse(std::string(v.ws->frames("offer").back().at("sdp").as_string()));
  ASSERT_TRUE(offer.ok());
  const auto& sec = offer->media.back();
  EXPECT_EQ(sec.direction, rtc::sdp::Direction::kSendOnly);
  ASSERT_EQ(sec.ssrc_groups.size(), 1u);  // RTX on its own SSRC
  EXPECT_EQ(sec.ssrc_groups[0].semantics, "FID");
  for (auto& c : sec.codecs) EXPECT_TRUE(c.is("VP8") || c.is("rtx")) << c.name;
  ASSERT_TRUE(until([&] { return last_streams(a) == R"([{"user_id":"1","viewer_ids":["2"]}])"; }));
  EXPECT_EQ(reports.back().viewers, std::vector<std::uint64_t>{2});
  EXPECT_TRUE(w.ws->frames("offer").empty());  // the one who did not ask gets nothing
  v.send("unwatch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return last_streams(a) == R"([{"user_id":"1","viewer_ids":[]}])"; }));
  ASSERT_TRUE(until([&] {
    auto o = v.ws->frames("offer");
    return o.size() >= 2 && o.back().at("streams").as_array().empty();
  }));
}

TEST_F(SfuSignaling, WatchErrorsSayWhatIsWrong) {
  Client& a = join(1);
  Client& s = join_stream(1, true);
  Client& h = join_stream(2, false, "H264");
  ASSERT_TRUE(
      until([&] { return !h.ws->frames("answer").empty() && !s.ws->frames("answer").empty(); }));
  ASSERT_TRUE(until([&] { return last_streams(h).find("\"1\"") != std::string::npos; }));
  h.send("watch", {{"user_id", "3"}});
  ASSERT_TRUE(until([&] { return errors(h).size() == 1; }));
  EXPECT_EQ(errors(h)[0], "not_streaming");
  h.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return errors(h).size() == 2; }));
  EXPECT_EQ(errors(h)[1], "codec_unsupported");
  a.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return errors(a).size() == 1; }));
  EXPECT_EQ(errors(a)[0], "wrong_connection");
  s.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return errors(s).size() == 1; }));
  EXPECT_EQ(errors(s)[0], "invalid_request");
  EXPECT_EQ(h.ws->closed_code(), 0);
}

TEST_F(SfuSignaling, LosingTheRightToStreamEndsTheStreamForItsWatchers) {
  Client& s = join_stream(1, true);
  Client& v = join_stream(2, false);
  ASSERT_TRUE(until([&] { return last_streams(v).find("\"1\"") != std::string::npos; }));
  v.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return !v.ws->frames("offer").empty(); }));
  not_live.insert(1);
  svc->recheck_user(1);
  ASSERT_TRUE(until([&] { return !errors(s).empty(); }));
  EXPECT_EQ(errors(s).back(), "stream_ended");
  ASSERT_TRUE(until([&] { return last_streams(v) == "[]"; }));
  EXPECT_FALSE(reports.back().live);
  // The watcher's section goes inactive (not in the offered streams).
  ASSERT_TRUE(until([&] {
    auto o = v.ws->frames("offer");
    return o.size() >= 2 && o.back().at("streams").as_array().empty();
  }));
  EXPECT_EQ(s.ws->closed_code(), 0);  // the connection stays: watching goes on
}

TEST_F(SfuSignaling, UnwatchedSimulcastLayersArePausedThroughALayersOpToTheStreamer) {
  Client& a = join(1);
  Client& s = join_stream(1, true, "VP8", true);
  Client& v = join_stream(2, false);
  ASSERT_TRUE(until([&] { return !s.ws->frames("answer").empty(); }));
  auto answer = rtc::sdp::parse(std::string(s.ws->frames("answer").back().at("sdp").as_string()));
  ASSERT_TRUE(answer.ok());
  ASSERT_TRUE(answer->media.back().simulcast.has_value());  // the layers were taken
  // Nobody watches: after the hold, the streamer's stream connection (and nobody else) is
  // told to encode only the lowest layer.
  ASSERT_TRUE(until([&] { return !s.ws->frames("layers").empty(); }));
  auto op = s.ws->frames("layers").back();
  EXPECT_EQ(op.at("mid").as_string(), "2");
  EXPECT_EQ(json::serialize(op.at("active")), R"({"q":true,"h":false,"f":false})");
  EXPECT_TRUE(a.ws->frames("layers").empty());
  EXPECT_TRUE(v.ws->frames("layers").empty());
  // A watcher (no downlink estimate) brings every layer back at once.
  v.send("watch", {{"user_id", "1"}});
  ASSERT_TRUE(until([&] { return s.ws->frames("layers").size() == 2; }));
  EXPECT_EQ(json::serialize(s.ws->frames("layers").back().at("active")),
            R"({"q":true,"h":true,"f":true})");
}

TEST(SfuService, AudioPtimeIsTheConfiguredOneUntilTheWorkerIsBusy) {
  sfu::SfuOptions o;
  o.audio_ptime_ms = 10;
  o.audio_ptime_busy_at = 300;
  EXPECT_EQ(sfu::audio_ptime_for(o, 0), 10);
  EXPECT_EQ(sfu::audio_ptime_for(o, 299), 10);
  EXPECT_EQ(sfu::audio_ptime_for(o, 300), 20);
  EXPECT_EQ(sfu::audio_ptime_for(o, 5000), 20);
  o.audio_ptime_busy_at = 0;  // never busy
  EXPECT_EQ(sfu::audio_ptime_for(o, 5000), 10);
  o.audio_ptime_busy_at = 300;
  o.audio_ptime_ms = 0;  // nothing asked stays nothing
  EXPECT_EQ(sfu::audio_ptime_for(o, 5000), 0);
  o.audio_ptime_ms = 40;  // longer than 20 is not shortened
  EXPECT_EQ(sfu::audio_ptime_for(o, 5000), 40);
}

TEST_F(SfuPtimeBusy, AnswersAsk10MsUntilTheWorkerHasBusyAtSessionsThen20) {
  join(1);
  EXPECT_EQ(answered_ptime(1), "10");
  join(2);
  EXPECT_EQ(answered_ptime(2), "10");
  join(3);  // 2 admitted before it: busy
  EXPECT_EQ(answered_ptime(3), "20");
  // Leaving frees its place: 2 and 3 are left, still busy; then 2 leaves too.
  clients[1].listener->on_close();
  join(4);
  EXPECT_EQ(answered_ptime(4), "20");
  clients[2].listener->on_close();
  clients[4].listener->on_close();
  join(5);
  EXPECT_EQ(answered_ptime(5), "10");
}
