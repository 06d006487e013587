#pragma once
// Toy nodes for the engines' own tests: the kernel's (tests/core) and SimGrid's (tests/simgrid).
#include <fmt/format.h>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/node.hpp"

namespace stampede::test {

// Records what happens to it and answers "ping" (type 1) with "pong" (type 2).
struct Probe final : Node {
  std::vector<std::string> events;
  int starts = 0;
  int volatile_counter = 0;  // lost on crash
  void on_start(Ctx& ctx) override {
    ++starts;
    events.push_back(fmt::format("start@{}", ctx.now()));
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    ++volatile_counter;
    events.push_back(fmt::format("msg{}@{}", m.type, ctx.now()));
    if (m.type == 1) ctx.send(from, Message{2, 64, m.a, 0, 0, nullptr});
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    events.push_back(fmt::format("timer{}@{}", tag, ctx.now()));
  }
  void on_crash() override { volatile_counter = 0; }
  std::uint64_t state_digest() const override {
    Digest d;
    for (const auto& e : events) d.add(e);
    return d.value();
  }
};

// Does what its functions say, and records what it receives.
struct Sender final : Node {
  std::function<void(Ctx&)> on_start_fn;
  std::function<void(Ctx&, std::uint64_t)> on_timer_fn;
  std::vector<std::string> got;  // messages ("TYPE@TIME") and connection events
  void on_start(Ctx& ctx) override {
    if (on_start_fn) on_start_fn(ctx);
  }
  void on_message(Ctx& ctx, NodeId, const Message& m) override {
    got.push_back(fmt::format("{}@{}", m.type, ctx.now()));
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent e) override {
    got.push_back(fmt::format("{}:{}@{}", connection_event_name(e), peer, ctx.now()));
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (on_timer_fn) on_timer_fn(ctx, tag);
  }
  void on_crash() override {}
  DurationNs exit_teardown_ns() const override { return teardown_ns; }
  std::uint64_t state_digest() const override { return got.size(); }
  DurationNs teardown_ns = 0;  // what exit_teardown_ns() answers
};

}  // namespace stampede::test
