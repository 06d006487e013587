#include "models/app/http.hpp"

namespace stampede::app {

std::string_view message_type_name(std::uint32_t type) {
  switch (type) {
    case msg_http_request: return "http_request";
    case msg_http_response: return "http_response";
    case msg_backend_request: return "backend_request";
    case msg_backend_response: return "backend_response";
    case msg_db_query: return "db_query";
    case msg_db_reply: return "db_reply";
    case msg_health_check: return "health_check";
    case msg_health_reply: return "health_reply";
    default: return "";
  }
}

}  // namespace stampede::app
