#pragma once
// Mechanisms the engines read themselves rather than a model. models/register.cpp registers
// them, so that scenarios switch them like any other.
#include <string_view>

namespace stampede {

// sim/net/connections.hpp: a stream message that meets a cut link waits for TCP's
// retransmission instead of being lost.
inline constexpr std::string_view k_tcp_retransmit = "tcp_retransmit";
// sim/net/connections.hpp: a process restarted after its host lost power connects on a new
// socket, and its peer keeps the old one half-open.
inline constexpr std::string_view k_tcp_socket_per_process = "tcp_socket_per_process";

}  // namespace stampede
