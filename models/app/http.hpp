#pragma once
// The request path of the two-tier app: client -> load balancer -> web container (on its agent)
// -> db container (on its agent, over the overlay), and the load balancer's health checks.
#include <cstdint>
#include <string_view>

namespace stampede::app {

enum MsgType : std::uint32_t {
  msg_http_request = 20,      // client -> lb; a = client's request id
  msg_http_response = 21,     // lb -> client; a = request id, b = status (see Status)
  msg_backend_request = 22,   // lb -> agent; a = lb's request id, body = [container]
  msg_backend_response = 23,  // agent -> lb; a = request id, b = status
  msg_db_query = 24,          // agent -> agent; a = query id, body = [db container]
  msg_db_reply = 25,          // agent -> agent; a = query id, b = status
  msg_health_check = 26,      // lb -> agent; a = check id, body = [container]
  msg_health_reply = 27,      // agent -> lb; a = check id, b = status
};

enum Status : std::int64_t {
  status_ok = 1,
  status_refused = 2,   // no container listens there: the connection is refused
  status_error = 3,     // the container answered with an error (its db is unreachable)
  status_timeout = 4,   // no answer in time
  status_no_backend = 5,
};

// A short name for timelines, or "" when the type is not one of these.
std::string_view message_type_name(std::uint32_t type);

}  // namespace stampede::app
