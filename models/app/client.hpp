#pragma once
// A client of the app: sends one request to its load balancer every interval and records each
// outcome (served within the timeout, or not) on the series "requests:STACK/LB".
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/app/http.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::app {

struct ClientConfig {
  std::string target;  // the load balancer node, STACK/LB
  DurationNs interval_ns = k_s;
};

// The client's timers: the kind in the top byte, as they have always been.
struct ClientTick {  // the next request is due
  static constexpr TimerKind k_kind{8, 1};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};
struct ClientTimeout {  // request `request` had no answer within client_request_timeout
  static constexpr TimerKind k_kind{8, 2};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t request = 0;
  STAMPEDE_FIELDS(request)
};

class Client final : public Node {
 public:
  explicit Client(ClientConfig config) : config_(std::move(config)) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override { volatile_ = {}; }
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override { return std::make_unique<Client>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

  std::int64_t served() const { return durable_.served; }
  std::int64_t failed() const { return durable_.failed; }

 private:
  void record(Ctx& ctx, bool ok);
  void on(Ctx& ctx, const ClientTick& t);
  void on(Ctx& ctx, const ClientTimeout& t);
  // The pending request with this id, or volatile_.pending.end().
  std::vector<std::pair<std::int64_t, Untracked<TimerId>>>::iterator find(std::int64_t id);

  // Counters and outcomes that have always been kept across a crash (the requests in flight are
  // not): keeping them keeps every recorded trace's steps.
  struct Durable {
    std::int64_t next_request = 1;
    std::int64_t served = 0;
    std::int64_t failed = 0;
    STAMPEDE_FIELDS(next_request, served, failed)
  };
  struct Volatile {
    // (request id, its timeout), by ascending id: ids only grow and a few requests are in
    // flight, so a flat vector serves where a tree would allocate per request.
    std::vector<std::pair<std::int64_t, Untracked<TimerId>>> pending;
    STAMPEDE_FIELDS(pending)
  };
  using PendingList = decltype(Volatile::pending);

  ClientConfig config_;
  // The balancer's node id and client_request_timeout, looked up at the first request: neither
  // changes during a run (not state).
  NodeId lb_ = k_no_node;
  DurationNs timeout_ns_ = -1;
  SeriesId s_requests_ = 0;
  SeriesId m_served_ = 0;
  SeriesId m_failed_ = 0;
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::app
