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
  void on_crash() override { pending_.clear(); }
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;

  std::int64_t served() const { return served_; }
  std::int64_t failed() const { return failed_; }

 private:
  void record(Ctx& ctx, bool ok);
  void on(Ctx& ctx, const ClientTick& t);
  void on(Ctx& ctx, const ClientTimeout& t);
  // The pending request with this id, or pending_.end().
  std::vector<std::pair<std::int64_t, TimerId>>::iterator find(std::int64_t id);

  ClientConfig config_;
  // (request id, its timeout), by ascending id: ids only grow and a few requests are in flight,
  // so a flat vector serves where a tree would allocate per request.
  std::vector<std::pair<std::int64_t, TimerId>> pending_;
  // The balancer's node id and client_request_timeout, looked up on first use: neither changes
  // during a run.
  NodeId lb_ = k_no_node;
  DurationNs timeout_ns_ = -1;
  std::int64_t next_request_ = 1;
  std::int64_t served_ = 0;
  std::int64_t failed_ = 0;
  SeriesId s_requests_ = 0;
  SeriesId m_served_ = 0;
  SeriesId m_failed_ = 0;
};

}  // namespace stampede::app
