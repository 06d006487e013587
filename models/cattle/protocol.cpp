#include "models/cattle/protocol.hpp"

namespace stampede::cattle {

std::string_view message_type_name(std::uint32_t type) {
  switch (type) {
    case msg_ping: return "ping";
    case msg_pong: return "pong";
    case msg_start_container: return "start_container";
    case msg_stop_container: return "stop_container";
    case msg_container_event: return "container_event";
    case msg_network_config: return "network_config";
    case msg_lb_config: return "lb_config";
    case msg_hello: return "hello";
    case msg_welcome: return "welcome";
    case msg_api_request: return "api_request";
    case msg_api_response: return "api_response";
    default: return "";
  }
}

}  // namespace stampede::cattle
