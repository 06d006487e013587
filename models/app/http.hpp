#pragma once
// The request path of the two-tier app: client -> load balancer -> web container (on its agent)
// -> db container (on its agent, over the overlay), and the load balancer's health checks. One
// struct per message (sim/core/wire.hpp), numbered 20 to 27 in the app block of
// models/protocols.hpp. Bodies name a container, as a NamesPayload of the Cattle protocol (the
// app depends on Cattle's protocol, never the other way round).
#include <cstdint>
#include <memory>
#include <string_view>

#include "models/cattle/protocol.hpp"
#include "models/protocols.hpp"
#include "sim/core/wire.hpp"

namespace stampede::app {

inline constexpr ProtocolRange k_protocol = protocols::k_app;

enum Status : std::int64_t {
  status_ok = 1,
  status_refused = 2,   // no container listens there: the connection is refused
  status_error = 3,     // the container answered with an error (its db is unreachable)
  status_timeout = 4,   // no answer in time
  status_no_backend = 5,
};

using cattle::NamesPayload;

// client -> lb: the client's request `request`.
struct HttpRequest {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "http_request";
  static constexpr std::uint32_t k_size_bytes = 512;
  std::int64_t request = 0;
  STAMPEDE_FIELDS(request)
};

// lb -> client: the answer to `request`.
struct HttpResponse {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "http_response";
  static constexpr std::uint32_t k_size_bytes = 2048;
  std::int64_t request = 0;
  Status status = status_ok;
  STAMPEDE_FIELDS(request, status)
};

// lb -> agent: the balancer's request `request` for a container, body [container].
struct BackendRequest {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "backend_request";
  static constexpr std::uint32_t k_size_bytes = 512;
  std::int64_t request = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(request, container)
};

// agent -> lb: the answer to `request`.
struct BackendResponse {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "backend_response";
  static constexpr std::uint32_t k_size_bytes = 1024;
  std::int64_t request = 0;
  Status status = status_ok;
  STAMPEDE_FIELDS(request, status)
};

// agent -> agent: the web container's query `query` to its db container, body [db container].
struct DbQuery {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "db_query";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t query = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(query, container)
};

// agent -> agent: the answer to `query`.
struct DbReply {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "db_reply";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t query = 0;
  Status status = status_ok;
  STAMPEDE_FIELDS(query, status)
};

// lb -> agent: health check `check` of a container, body [container].
struct HealthCheck {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "health_check";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t check = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(check, container)
};

// agent -> lb: the answer to `check`.
struct HealthReply {
  static constexpr std::uint32_t k_type = k_protocol.type(7);
  static constexpr std::string_view k_name = "health_reply";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t check = 0;
  Status status = status_ok;
  STAMPEDE_FIELDS(check, status)
};

static_assert(HttpRequest::k_type == 20 && HealthReply::k_type == 27,
              "the app protocol's numbers are those of every recorded trace");

// A short name for timelines, or "" when the type is not one of these.
std::string_view message_type_name(std::uint32_t type);

}  // namespace stampede::app
