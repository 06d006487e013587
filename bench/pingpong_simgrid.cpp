// Two-node ping-pong on SimGrid s4u: the same exchange as pingpong_kernel.cpp, for bench/run.sh.
//
//   pingpong_simgrid [--messages N] [--latency-us L] [--size B] [--cfg=name:value ...]
//
// Prints one machine-readable line:
//   simgrid messages=N wall_s=W msgs_per_s=R sim_s=S sim_per_wall=X factory=F
//
// Two actors on two hosts of a platform built in code (a full zone with one link between the
// hosts), exchanging N one-way messages through two mailboxes with put/get of `size` bytes.
// To give both engines the same network semantics, the network model is CM02 with latency and
// bandwidth factors of 1 (SimGrid's default LV08 multiplies the latency by 13.01), on a 10 Gb/s
// link: a message then takes latency + size/bandwidth (about 0.1 us for 128 B) of simulated
// time. Any --cfg given on the command line overrides these (for example
// --cfg=contexts/factory:ucontext). SimGrid runs single-threaded (contexts/nthreads:1, its
// default). Payloads are pointers to the sender's slot: no allocation per message. Wall time
// covers Engine::run only.
#include <simgrid/s4u.hpp>
#include <xbt/config.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sg4 = simgrid::s4u;

namespace {

long long g_messages = 1'000'000;
long long g_size = 128;
long long g_received = 0;

// Both ends run the same loop: whoever receives message i < N answers with message i + 1; the
// side that sends message N stops. Exactly N messages are delivered.
void peer(bool initiator, const std::string& in_name, const std::string& out_name) {
  sg4::Mailbox* in = sg4::Mailbox::by_name(in_name);
  sg4::Mailbox* out = sg4::Mailbox::by_name(out_name);
  std::int64_t slot = 0;  // the payload we send; stays valid until the reply comes back
  if (initiator) {
    if (g_messages <= 0) return;
    slot = 1;
    out->put(&slot, static_cast<std::uint64_t>(g_size));
    if (slot >= g_messages) return;
  }
  for (;;) {
    const auto* v = in->get<std::int64_t>();
    ++g_received;
    std::int64_t seq = *v;
    if (seq >= g_messages) return;
    slot = seq + 1;
    out->put(&slot, static_cast<std::uint64_t>(g_size));
    if (slot >= g_messages) return;
  }
}

long long parse(const char* flag, const char* s) {
  char* end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < 0) {
    std::fprintf(stderr, "pingpong_simgrid: bad value '%s' for %s\n", s, flag);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  // Our network defaults, unless the command line sets the same key (the Engine registers the
  // configuration keys, so they are set after it is built).
  const char* defaults[] = {"network/model:CM02", "network/latency-factor:1",
                            "network/bandwidth-factor:1"};
  bool overridden[3] = {false, false, false};
  for (int i = 1; i < argc; ++i)
    for (int d = 0; d < 3; ++d) {
      std::string_view key = defaults[d];
      key = key.substr(0, key.find(':') + 1);
      if (std::string_view(argv[i]).starts_with(std::string("--cfg=") + std::string(key)))
        overridden[d] = true;
    }
  sg4::Engine e(&argc, argv);  // consumes --cfg= and --log= arguments
  for (int d = 0; d < 3; ++d)
    if (!overridden[d]) sg4::Engine::set_config(defaults[d]);

  long long latency_us = 1'000;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 < argc && a == "--messages") g_messages = parse(argv[i], argv[i + 1]), ++i;
    else if (i + 1 < argc && a == "--latency-us") latency_us = parse(argv[i], argv[i + 1]), ++i;
    else if (i + 1 < argc && a == "--size") g_size = parse(argv[i], argv[i + 1]), ++i;
    else {
      std::fprintf(stderr,
                   "usage: pingpong_simgrid [--messages N] [--latency-us L] [--size B] "
                   "[--cfg=name:value ...]\n");
      return 2;
    }
  }

  auto* zone = sg4::create_full_zone("world");
  sg4::Host* ping = zone->create_host("ping", 1e9);
  sg4::Host* pong = zone->create_host("pong", 1e9);
  sg4::Link* link = zone->create_link("wire", 1.25e9)->set_latency(static_cast<double>(latency_us) * 1e-6);
  zone->add_route(ping->get_netpoint(), pong->get_netpoint(), nullptr, nullptr,
                  {sg4::LinkInRoute(link)}, true);
  zone->seal();

  sg4::Actor::create("ping", ping, [] { peer(true, "ping", "pong"); });
  sg4::Actor::create("pong", pong, [] { peer(false, "pong", "ping"); });

  auto t0 = std::chrono::steady_clock::now();
  e.run();
  auto t1 = std::chrono::steady_clock::now();

  double wall_s = std::chrono::duration<double>(t1 - t0).count();
  double sim_s = sg4::Engine::get_clock();
  if (g_received != g_messages) {
    std::fprintf(stderr, "pingpong_simgrid: delivered %lld messages, expected %lld\n", g_received,
                 g_messages);
    return 3;
  }
  std::string factory = simgrid::config::get_value<std::string>("contexts/factory");
  std::printf("simgrid messages=%lld wall_s=%.6f msgs_per_s=%.0f sim_s=%.6f sim_per_wall=%.1f factory=%s\n",
              g_received, wall_s, wall_s > 0 ? static_cast<double>(g_received) / wall_s : 0.0, sim_s,
              wall_s > 0 ? sim_s / wall_s : 0.0, factory.empty() ? "default" : factory.c_str());
  return 0;
}
