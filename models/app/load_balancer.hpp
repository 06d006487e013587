#pragma once
// A Rancher load balancer (HAProxy inside): routes each client request to a healthy backend of its
// target services, round robin; health-checks every backend; on a refused connection it retries
// once on another backend (HAProxy `retries 1` with `option redispatch`). Its backends come from
// the server's pushes and stay as they were while the server is gone.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"

namespace stampede::app {

struct LoadBalancerConfig {
  std::optional<HealthCheckSpec> health_check;  // of the target service, when it has one
};

class LoadBalancer final : public Node {
 public:
  explicit LoadBalancer(LoadBalancerConfig config) : config_(std::move(config)) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;

  bool healthy(std::string_view container) const;
  std::size_t backend_count() const { return backends_.size(); }

 private:
  struct Backend {
    std::string agent;
    bool healthy = true;  // HAProxy considers a server up until its checks say otherwise
    int successes = 0;
    int failures = 0;
    std::int64_t check_outstanding = 0;  // the id of an unanswered check, 0 if none
  };
  struct Pending {
    NodeId client = k_no_node;
    std::int64_t client_request = 0;
    std::set<std::string> tried;
    int redispatches = 0;
    TimerId timer = 0;
  };

  void dispatch(Ctx& ctx, std::int64_t id);
  void respond(Ctx& ctx, std::int64_t id, std::int64_t status);
  void check_result(Ctx& ctx, const std::string& container, bool ok);

  LoadBalancerConfig config_;
  std::map<std::string, Backend> backends_;  // container -> backend
  std::map<std::int64_t, Pending> pending_;
  std::map<std::int64_t, std::string> checks_;  // check id -> container
  std::int64_t next_request_ = 1;
  std::int64_t next_check_ = 1;
  std::uint64_t round_robin_ = 0;
};

}  // namespace stampede::app
