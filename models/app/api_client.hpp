#pragma once
// A client of the Cattle servers' API (GET /v1/services every interval) through one DNS name that
// resolves to every server, as FIELD-NOTES observation 4 sets HA up ("three servers behind one
// DNS name, round robin"). The resolver rotates the addresses, so successive requests start at
// successive servers; a request whose server does not answer within api_connect_timeout, or
// answers 503, is tried on the next address (as HTTP clients do with several A records), until
// client_request_timeout. Each request's outcome is a sample on "requests:api".
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/cattle/protocol.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::app {

struct ApiClientConfig {
  std::vector<std::string> servers;  // server-1..N, the DNS name's addresses in order
  DurationNs interval_ns = k_s;
};

// The API client's timers: the kind in the top byte, as they have always been.
struct ApiTick {  // the next request is due
  static constexpr TimerKind k_kind{8, 1};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};
struct ApiConnect {  // attempt `attempt` had no answer within api_connect_timeout
  static constexpr TimerKind k_kind{8, 2};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t attempt = 0;
  STAMPEDE_FIELDS(attempt)
};
struct ApiDeadline {  // request `request` ran out of client_request_timeout
  static constexpr TimerKind k_kind{8, 3};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t request = 0;
  STAMPEDE_FIELDS(request)
};

class ApiClient final : public Node {
 public:
  explicit ApiClient(ApiClientConfig config) : config_(std::move(config)) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override { volatile_ = {}; }
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override { return std::make_unique<ApiClient>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

 private:
  struct Pending {
    std::size_t server = 0;    // index of the address being tried
    int tried = 0;             // addresses tried so far
    std::int64_t attempt = 0;  // the id of the current attempt (answers to older ones are late)
    Untracked<TimerId> connect_timer;
    Untracked<TimerId> deadline_timer;
    STAMPEDE_FIELDS(server, tried, attempt, connect_timer, deadline_timer)
  };
  // What has always been kept across a crash: the counters, the resolver's rotation, and the
  // attempts' map (a crash clears only the requests; an answer to an attempt of a request the
  // crash forgot finds no request and is dropped). Keeping them keeps every recorded trace.
  struct Durable {
    std::map<std::int64_t, std::int64_t> attempts;  // attempt id -> request id
    std::int64_t next_request = 1;
    std::int64_t next_attempt = 1;
    std::size_t rotation = 0;  // the resolver's round robin
    STAMPEDE_FIELDS(attempts, next_request, next_attempt, rotation)
  };
  struct Volatile {
    std::map<std::int64_t, Pending> pending;  // request id -> its progress
    STAMPEDE_FIELDS(pending)
  };
  void try_server(Ctx& ctx, std::int64_t id, Pending& p);
  void next_address(Ctx& ctx, std::int64_t id);
  void finish(Ctx& ctx, std::int64_t id, bool ok);
  void on(Ctx& ctx, const ApiTick& t);
  void on(Ctx& ctx, const ApiConnect& t);
  void on(Ctx& ctx, const ApiDeadline& t);

  ApiClientConfig config_;
  // Read at start (not state).
  bool failover_ = true;
  DurationNs connect_timeout_ns_ = 0;  // api_connect_timeout
  DurationNs request_timeout_ns_ = 0;  // client_request_timeout
  std::vector<NodeId> server_ids_;     // config_.servers' node ids, in order
  SeriesId s_requests_ = 0;
  SeriesId m_served_ = 0;
  SeriesId m_failed_ = 0;
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::app
