#pragma once
// The messages between the Cattle server, the agents and the load balancers. The server pings
// agents and pushes configuration; agents answer with their container lists and report container
// events. Containers and hosts travel by name; lists travel as a NamesPayload.
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "sim/core/message.hpp"

namespace stampede::cattle {

enum MsgType : std::uint32_t {
  msg_ping = 1,             // server -> agent; a = ping sequence number
  msg_pong = 2,             // agent -> server; a = sequence, b = 1 when body lists containers
  msg_start_container = 3,  // server -> agent; a = instance id, body = [container]
  msg_stop_container = 4,   // server -> agent; a = instance id, body = [container]
  msg_container_event = 5,  // agent -> server; a = instance id (0 if unknown), b = event kind
  msg_network_config = 6,   // server -> agent; b = 1 when the overlay exists, body = directory
  msg_lb_config = 7,        // server -> load balancer; body = backends
  msg_hello = 8,            // agent -> server on (re)connect; b = 1 when body lists containers
  msg_welcome = 9,          // server -> agent, the answer to hello
  msg_api_request = 10,     // API client -> server; a = request id (GET /v1/services)
  msg_api_response = 11,    // server -> API client; a = request id, b = HTTP status, c = services
};

// HTTP statuses of msg_api_response.
inline constexpr std::int64_t k_http_ok = 200;
inline constexpr std::int64_t k_http_unavailable = 503;

// Kinds of msg_container_event.
enum ContainerEvent : std::int64_t { event_started = 1, event_stopped = 2, event_died = 3 };

// A list of names: container names, or "container@agent" pairs for directories and backends.
class NamesPayload final : public Payload {
 public:
  // Each name is hashed once, here: a payload is digested at every delivery, and some are sent
  // many times (a balancer's request body, a directory pushed to every agent).
  explicit NamesPayload(std::vector<std::string> names_in) : names(std::move(names_in)) {
    hashes_.reserve(names.size());
    for (const std::string& n : names) hashes_.push_back(hash_bytes(n));
  }
  void digest_into(Digest& d) const override {
    // The same as adding each name (Digest::add of a string adds its hash_bytes).
    d.add(static_cast<std::uint64_t>(names.size()));
    for (std::uint64_t h : hashes_) d.add(h);
  }
  const std::vector<std::string> names;

 private:
  boost::container::small_vector<std::uint64_t, 2> hashes_;
};

inline std::shared_ptr<const Payload> make_names(std::vector<std::string> names) {
  return std::make_shared<const NamesPayload>(std::move(names));
}

// The names a message carries (empty when it has no body).
inline const std::vector<std::string>& names_of(const Message& m) {
  static const std::vector<std::string> none;
  // NamesPayload is final: comparing the dynamic type is the dynamic_cast, without its search
  // of the class hierarchy (this runs for every request on its way through the app).
  if (m.body == nullptr || typeid(*m.body) != typeid(NamesPayload)) return none;
  return static_cast<const NamesPayload&>(*m.body).names;
}

// "wordpress/web/1@agent-2" -> {"wordpress/web/1", "agent-2"}.
struct Placement {
  std::string container;
  std::string agent;
};
inline Placement split_placement(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos) return {std::string(s), ""};
  return {std::string(s.substr(0, at)), std::string(s.substr(at + 1))};
}

// "wordpress/web/1" -> "wordpress/web".
inline std::string service_of(std::string_view container) {
  auto slash = container.rfind('/');
  return std::string(slash == std::string_view::npos ? container : container.substr(0, slash));
}

std::string_view message_type_name(std::uint32_t type);

}  // namespace stampede::cattle
