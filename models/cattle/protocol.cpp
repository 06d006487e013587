#include "models/cattle/protocol.hpp"

namespace stampede::cattle {

std::string_view message_type_name(std::uint32_t type) {
  return wire::name_of<Ping, Pong, StartContainer, StopContainer, ContainerEvent, NetworkConfig,
                       LbConfig, Hello, Welcome, ApiRequest, ApiResponse, HealthcheckConfig,
                       HealthReport, DeactivateContainer, SocketPing>(type);
}

}  // namespace stampede::cattle
