#pragma once
// A Rancher load balancer (HAProxy inside): routes each client request to a healthy backend of its
// target services, round robin; health-checks every backend; on a refused connection it retries
// once on another backend (HAProxy `retries 1` with `option redispatch`). Its backends come from
// the server's pushes and stay as they were while the server is gone.
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/app/http.hpp"
#include "models/cattle/protocol.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/spec.hpp"

namespace stampede::app {

struct LoadBalancerConfig {
  std::optional<HealthCheckSpec> health_check;  // of the target service, when it has one
};

// The balancer's timers: the kind in the top byte, as they have always been.
struct HealthTimer {  // the next round of health checks
  static constexpr TimerKind k_kind{8, 1};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};
struct RequestTimer {  // request `request` had no answer within lb_backend_timeout
  static constexpr TimerKind k_kind{8, 2};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t request = 0;
  STAMPEDE_FIELDS(request)
};

class LoadBalancer final : public Node {
 public:
  explicit LoadBalancer(LoadBalancerConfig config) : config_(std::move(config)) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override {
    return std::make_unique<LoadBalancer>(*this);
  }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

  bool healthy(std::string_view container) const;
  std::size_t backend_count() const { return volatile_.backends.size(); }

 private:
  struct Backend {
    std::string agent;
    // The agent's node id and the body ([container]) of every request and check sent there,
    // made once per configuration rather than per request: node names never change in a run
    // (caches of `agent` and the container's name: untracked).
    Untracked<NodeId> agent_id = k_no_node;
    Untracked<std::shared_ptr<const cattle::NamesPayload>> body;
    bool healthy = true;  // HAProxy considers a server up until its checks say otherwise
    int successes = 0;
    int failures = 0;
    std::int64_t check_outstanding = 0;  // the id of an unanswered check, 0 if none
    STAMPEDE_FIELDS(agent, agent_id, body, healthy, successes, failures, check_outstanding)
  };
  struct Pending {
    std::int64_t id = 0;
    NodeId client = k_no_node;
    std::int64_t client_request = 0;
    // The backends tried: a request goes to at most two (HAProxy `retries 1`).
    boost::container::small_vector<std::string, 2> tried;
    int redispatches = 0;
    Untracked<TimerId> timer;
    STAMPEDE_FIELDS(id, client, client_request, tried, redispatches, timer)
    bool has_tried(const std::string& name) const {
      for (const std::string& t : tried)
        if (t == name) return true;
      return false;
    }
  };
  // Counters that have always been kept across a crash of the balancer (its backends and
  // requests are not): keeping them keeps every recorded trace's steps.
  struct Durable {
    std::int64_t next_request = 1;
    std::int64_t next_check = 1;
    std::uint64_t round_robin = 0;
    STAMPEDE_FIELDS(next_request, next_check, round_robin)
  };
  struct Volatile {
    std::map<std::string, Backend> backends;  // container -> backend
    // Requests in flight, by ascending id (ids only grow, so new ones go at the end): a handful
    // at a time, so a flat vector beats a tree that allocates a node per request.
    std::vector<Pending> pending;
    std::map<std::int64_t, std::string> checks;  // check id -> container
    STAMPEDE_FIELDS(backends, pending, checks)
  };

  // The request with this id, or null when it has been answered.
  Pending* find_pending(std::int64_t id);
  void dispatch(Ctx& ctx, Pending& p);
  void respond(Ctx& ctx, std::int64_t id, Status status);
  void on(Ctx& ctx, NodeId from, const cattle::LbConfig& m);
  void on(Ctx& ctx, NodeId from, const HttpRequest& m);
  void on(Ctx& ctx, NodeId from, const BackendResponse& m);
  void on(Ctx& ctx, NodeId from, const HealthReply& m);
  void on(Ctx& ctx, const HealthTimer& t);
  void on(Ctx& ctx, const RequestTimer& t);
  void check_result(Ctx& ctx, const std::string& container, bool ok);

  LoadBalancerConfig config_;
  DurationNs backend_timeout_ns_ = -1;  // lb_backend_timeout, read at the first request
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::app
