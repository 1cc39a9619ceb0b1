// The pieces of a /voice signaling session that need no worker: how server sections become
// offered streams and the `streams` list, which offered sections a client publishes, and
// that SfuService asks its WorkerPlacement (the seam a cluster placement plugs into).
#include "sfu/signaling_session.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

#include "rtc/sdp/sdp_answer.hpp"
#include "sfu/worker_placement.hpp"

namespace json = boost::json;
using namespace hype;
using Section = sfu::SignalingSession::Section;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(HYPE_SOURCE_DIR) + "/tests/fixtures/sdp/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<Section> sample_sections() {
  std::vector<Section> s;
  s.push_back({"a0", 11, 0, sfu::MediaKind::kAudio, 111, true, 0});
  s.push_back({"a1", 12, 0, sfu::MediaKind::kAudio, 111, false, 1});
  s.push_back({"s2", 13, 42, sfu::MediaKind::kVideo, 96, true, -1});
  s.push_back({"s3", 14, 43, sfu::MediaKind::kAudio, 111, true, -1});
  return s;
}

}  // namespace

TEST(SignalingSession, SectionsBecomeOfferedStreams) {
  auto out = sfu::SignalingSession::outgoing_streams(sample_sections());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].kind, "audio");
  EXPECT_EQ(out[0].direction, rtc::sdp::Direction::kSendOnly);
  EXPECT_EQ(out[0].msid_stream, "slot0");
  EXPECT_EQ(out[0].msid_track, "slot0-audio");
  EXPECT_EQ(out[0].cname, "hype-sfu");
  EXPECT_EQ(out[1].direction, rtc::sdp::Direction::kInactive);
  EXPECT_EQ(out[2].kind, "video");
  EXPECT_EQ(out[2].msid_stream, "u42");
  EXPECT_EQ(out[2].msid_track, "u42-video");
  EXPECT_EQ(out[2].cname, "hype-42");
  EXPECT_EQ(out[3].msid_track, "u43-audio");
}

TEST(SignalingSession, StreamListKeepsItsWireFormat) {
  auto list = sfu::SignalingSession::stream_list(sample_sections());
  EXPECT_EQ(json::serialize(list), R"([{"mid":"a0","ssrc":11,"kind":"audio","slot":0},)"
                                   R"({"mid":"s2","ssrc":13,"user_id":"42","kind":"video"},)"
                                   R"({"mid":"s3","ssrc":14,"user_id":"43","kind":"audio"}])");
}

TEST(SignalingSession, PublishesTheAudioOfAnAudioVideoOffer) {
  auto offer = rtc::sdp::parse(fixture("chromium_av_simulcast_offer.sdp"));
  ASSERT_TRUE(offer.ok());
  rtc::sdp::AnswerOptions o;
  o.ice_ufrag = "hypeufrag";
  o.ice_pwd = "0123456789abcdefghijklmnop";
  o.fingerprint = "sha-256 " + std::string(95, 'A');
  auto ans = rtc::sdp::create_answer(offer.value(), o);
  ASSERT_TRUE(ans.ok());
  sfu::SessionParams p;
  sfu::describe_publisher(offer.value(), ans.value(), p);
  ASSERT_EQ(p.tracks.size(), 1u);
  EXPECT_EQ(p.tracks[0].kind, sfu::MediaKind::kAudio);
  EXPECT_EQ(p.tracks[0].mid, "0");
  EXPECT_EQ(p.tracks[0].ssrc, offer->media[0].ssrcs.front().ssrc);
  EXPECT_EQ(p.tracks[0].payload_type, 111);
  EXPECT_EQ(p.tracks[0].codec, "opus");
  EXPECT_EQ(p.audio_payload_type, 111);
  // RED was answered first: the track comes in either type, the subscriber side takes both.
  ASSERT_TRUE(ans->media[0].codecs.front().is("red"));
  EXPECT_EQ(p.tracks[0].red_payload_type, 63);
  EXPECT_EQ(p.audio_red_payload_type, 63);

  o.audio_red = false;
  ans = rtc::sdp::create_answer(offer.value(), o);
  ASSERT_TRUE(ans.ok());
  sfu::SessionParams q;
  sfu::describe_publisher(offer.value(), ans.value(), q);
  ASSERT_EQ(q.tracks.size(), 1u);
  EXPECT_EQ(q.tracks[0].payload_type, 111);
  EXPECT_EQ(q.tracks[0].red_payload_type, 0);
  EXPECT_EQ(q.audio_red_payload_type, 0);
  EXPECT_FALSE(q.tracks[0].nack);  // Chromium offers no NACK on Opus by itself

  // The web client adds it to its offer: the track is then NACKed by the SFU.
  auto with_nack = offer.value();
  for (auto& c : with_nack.media[0].codecs)
    if (c.is("opus")) c.rtcp_fb.push_back("nack");
  ans = rtc::sdp::create_answer(with_nack, o);
  ASSERT_TRUE(ans.ok());
  sfu::SessionParams r;
  sfu::describe_publisher(with_nack, ans.value(), r);
  ASSERT_EQ(r.tracks.size(), 1u);
  EXPECT_TRUE(r.tracks[0].nack);
}

namespace {

class FakeWs : public net::WsConnection {
 public:
  void send(std::string text) override {
    std::lock_guard lock(mu_);
    frames_.push_back(std::move(text));
  }
  void close(int code, std::string) override {
    std::lock_guard lock(mu_);
    if (!closed_) closed_ = code;
  }
  std::size_t queued() const override { return 0; }
  const std::string& remote_ip() const override { return ip_; }
  int closed_code() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  bool got(std::string_view op) const {
    std::lock_guard lock(mu_);
    for (auto& f : frames_)
      if (json::parse(f).at("op").as_string() == op) return true;
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> frames_;
  int closed_ = 0;
  std::string ip_ = "127.0.0.1";
};

// Records what SfuService asks of its placement.
struct RecordingPlacement : sfu::WorkerPlacement {
  std::vector<std::string>* log;
  sfu::LeastLoadedPlacement inner{1};
  explicit RecordingPlacement(std::vector<std::string>* l) : log(l) {}
  int place(std::uint64_t ch) override {
    log->push_back("place " + std::to_string(ch));
    return inner.place(ch);
  }
  std::optional<int> find(std::uint64_t ch) const override { return inner.find(ch); }
  void release(std::uint64_t ch) override {
    log->push_back("release " + std::to_string(ch));
    inner.release(ch);
  }
};

}  // namespace

TEST(SignalingSession, TheServiceAsksItsPlacementAndReleasesAnEmptiedChannel) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::vector<std::string> log;
  int workers_seen = 0;
  sfu::SfuOptions o;
  o.workers = 1;
  o.bind_ip = "127.0.0.1";
  sfu::SfuService svc(
      io.get_executor(), o,
      [](const std::string& token, std::string&) -> std::optional<sfu::VoiceIdentity> {
        auto user = std::stoull(token);
        return sfu::VoiceIdentity{user, user < 10 ? 7u : 8u, 1};
      },
      sfu::CheckVoiceGrant{},
      [&](int workers) {
        workers_seen = workers;
        return std::make_unique<RecordingPlacement>(&log);
      });
  svc.start();
  EXPECT_EQ(workers_seen, 1);
  std::vector<std::pair<std::shared_ptr<FakeWs>, std::shared_ptr<net::WsListener>>> conns;
  for (const char* user : {"1", "2", "11"}) {
    auto ws = std::make_shared<FakeWs>();
    auto l = svc.open(ws, net::HttpRequest{});
    l->on_message(json::serialize(json::object{{"op", "identify"}, {"d", {{"token", user}}}}),
                  true);
    conns.emplace_back(ws, l);
  }
  auto run_until = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return pred();
  };
  ASSERT_TRUE(run_until([&] {
    for (auto& [ws, l] : conns)
      if (!ws->got("ready")) return false;
    return true;
  }));
  EXPECT_EQ(log, (std::vector<std::string>{"place 7", "place 7", "place 8"}));
  conns[0].second->on_close();  // channel 7 still has user 2
  conns[2].second->on_close();  // channel 8 is empty now
  ASSERT_TRUE(run_until([&] { return log.size() == 4; }));
  EXPECT_EQ(log.back(), "release 8");
  conns[1].second->on_close();
  ASSERT_TRUE(run_until([&] { return log.size() == 5; }));
  EXPECT_EQ(log.back(), "release 7");
  guard.reset();
  svc.stop();
}

// channel_id is optional; one given must name the token's channel, as a string or (as
// hype-bot sends it) a number. Anything else is refused rather than ignored.
TEST(SignalingSession, IdentifyChecksTheChannelIdItIsGiven) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  sfu::SfuOptions o;
  o.workers = 1;
  o.bind_ip = "127.0.0.1";
  sfu::SfuService svc(io.get_executor(), o, [](const std::string& token, std::string&) {
    return std::optional<sfu::VoiceIdentity>(sfu::VoiceIdentity{std::stoull(token), 7, 1});
  });
  svc.start();
  struct Case {
    json::value channel;
    bool accepted;
  };
  std::vector<Case> cases = {{json::value("7"), true},     {json::value(7), true},
                             {json::value(nullptr), true}, {json::value("8"), false},
                             {json::value(8), false},      {json::value("0"), false},
                             {json::value("abc"), false},  {json::value(true), false}};
  std::uint64_t user = 1;
  for (auto& c : cases) {
    auto ws = std::make_shared<FakeWs>();
    auto l = svc.open(ws, net::HttpRequest{});
    l->on_message(json::serialize(json::object{
                      {"op", "identify"},
                      {"d", {{"token", std::to_string(user++)}, {"channel_id", c.channel}}}}),
                  true);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ws->got("ready") && !ws->got("error") && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(ws->got("ready"), c.accepted) << json::serialize(c.channel);
    EXPECT_EQ(ws->closed_code(), c.accepted ? 0 : 4004) << json::serialize(c.channel);
  }
  EXPECT_EQ(svc.stats().rejected_tokens, 5u);
  guard.reset();
  svc.stop();
}
