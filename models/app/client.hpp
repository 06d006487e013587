#pragma once
// A client of the app: sends one request to its load balancer every interval and records each
// outcome (served within the timeout, or not) on the series "requests:STACK/LB".
#include <cstdint>
#include <map>
#include <string>

#include "sim/core/node.hpp"

namespace stampede::app {

struct ClientConfig {
  std::string target;  // the load balancer node, STACK/LB
  DurationNs interval_ns = k_s;
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

  ClientConfig config_;
  std::map<std::int64_t, TimerId> pending_;  // request id -> its timeout
  std::int64_t next_request_ = 1;
  std::int64_t served_ = 0;
  std::int64_t failed_ = 0;
  SeriesId s_requests_ = 0;
  SeriesId m_served_ = 0;
  SeriesId m_failed_ = 0;
};

}  // namespace stampede::app
