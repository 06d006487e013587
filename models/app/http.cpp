#include "models/app/http.hpp"

namespace stampede::app {

std::string_view message_type_name(std::uint32_t type) {
  return wire::name_of<HttpRequest, HttpResponse, BackendRequest, BackendResponse, DbQuery,
                       DbReply, HealthCheck, HealthReply>(type);
}

}  // namespace stampede::app
