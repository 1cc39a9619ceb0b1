// hype-netlab: an impairing UDP relay between clients and the SFU (delay, jitter, loss,
// Gilbert-Elliott bursts, rate limit, scripted schedules). Prints one JSON line when
// listening, stats lines every --stats-every seconds, and a final one on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "netlab/relay.hpp"

using namespace hype;
using namespace hype::netlab;

namespace {

SocketAddress address(const std::string& flag, const std::string& v) {
  auto a = SocketAddress::parse(v);
  if (!a) throw std::invalid_argument(flag + ": expected IP:PORT, got \"" + v + "\"");
  return *a;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", upstream, up = "clean", down = "clean", schedule_file;
  std::uint64_t seed = 1;
  double stats_every = 0;
  std::size_t max_flows = 4096, slots = 16384;
  CLI::App app{
      "hype-netlab: UDP relay that impairs each direction (profiles: clean, wifi, mobile, "
      "bursty; or key=value specs: delay jitter dist reorder loss ge rate burst queue)"};
  app.add_option("--listen", listen, "address clients send to (IP:PORT, port 0: ephemeral)");
  app.add_option("--upstream", upstream, "the SFU's UDP address (IP:PORT)")->required();
  app.add_option("--up", up, "client -> SFU impairment: PROFILE[,key=value...]");
  app.add_option("--down", down, "SFU -> client impairment: PROFILE[,key=value...]");
  app.add_option("--schedule", schedule_file,
                 "file of \"AT_MS up|down|both SPEC\" lines switching profiles over time");
  app.add_option("--seed", seed, "random seed (each client path derives its own)");
  app.add_option("--stats-every", stats_every,
                 "seconds between JSON stats lines (0: only at exit)");
  app.add_option("--max-flows", max_flows, "client addresses relayed at once")
      ->check(CLI::Range(1, 65536));
  app.add_option("--packet-slots", slots, "packets held at once (each a 2 KiB slot)")
      ->check(CLI::Range(64, 1 << 22));
  CLI11_PARSE(app, argc, argv);
  try {
    RelayOptions o;
    o.listen = address("--listen", listen);
    o.upstream = address("--upstream", upstream);
    o.up = parse_impairment(up);
    o.down = parse_impairment(down);
    if (!schedule_file.empty()) {
      std::ifstream in(schedule_file);
      if (!in) throw std::invalid_argument("--schedule: cannot read " + schedule_file);
      std::stringstream text;
      text << in.rdbuf();
      o.schedule = parse_schedule(text.str());
    }
    o.seed = seed;
    o.max_flows = max_flows;
    o.packet_slots = slots;
    Relay relay(o);
    std::printf(
        "{\"event\":\"listening\",\"listen\":\"%s\",\"port\":%u,\"upstream\":\"%s\",\"up\":\"%s\","
        "\"down\":\"%s\",\"schedule_steps\":%zu,\"seed\":%llu}\n",
        SocketAddress{o.listen.family, relay.port(), o.listen.ip}.to_string().c_str(),
        static_cast<unsigned>(relay.port()), o.upstream.to_string().c_str(), describe(o.up).c_str(),
        describe(o.down).c_str(), o.schedule.up.size() + o.schedule.down.size(),
        static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    relay.run(stats_every);
    std::printf("%s\n", relay.stats_json("final").c_str());
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hype-netlab: %s\n", e.what());
    return 2;
  }
}
