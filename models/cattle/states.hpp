#pragma once
// The states of Cattle's resources as the model reasons about them: enums, with their text only
// where a row is read from or written to the store (MySQL keeps them as text: rows.cpp), in
// digests and in traces. A value the model does not know (a missing row reads as "") is `unknown`.
#include <array>
#include <cstdint>
#include <string_view>

namespace stampede::cattle {

// Host states follow the agent's (process_defs.cpp moves a host between them). Cattle 1.1 has no
// `disconnected` state: an agent that stops answering stays `reconnecting` until it answers
// (rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/process/
// spring-process-context.xml lines 247-253 and 292-295: agent states requested, registering,
// inactive, activating, active, reconnecting, deactivating, removing, removed, ...). No process of
// the model removes a host; `removed` is a row another tool wrote, which the ping monitor skips.
enum class HostState : std::uint8_t { unknown, active, reconnecting, activating, removed };
inline constexpr std::array<std::string_view, 5> k_host_state_text = {
    "", "active", "reconnecting", "activating", "removed"};

// Instance states follow Cattle's (requested, activating, active, stopping, stopped, removed).
enum class InstanceState : std::uint8_t {
  unknown, requested, activating, active, starting, stopping, stopped, removing, removed
};
inline constexpr std::array<std::string_view, 9> k_instance_state_text = {
    "",        "requested", "activating", "active", "starting",
    "stopping", "stopped",  "removing",   "removed"};

// A process instance's phase: pending and running are unfinished (replayed after a crash).
enum class ProcessPhase : std::uint8_t { unknown, pending, running, done, canceled };
inline constexpr std::array<std::string_view, 5> k_process_phase_text = {
    "", "pending", "running", "done", "canceled"};

// A container's health (instance.health_state in Cattle, HealthcheckConstants), and what a
// checker last reported (healthcheck_instance_host_map.health_state; none before its first
// report). models/cattle/healthcheck.hpp says how they change.
enum class Health : std::uint8_t { none, initializing, reinitializing, healthy, unhealthy };
inline constexpr std::array<std::string_view, 5> k_health_text = {
    "", "initializing", "reinitializing", "healthy", "unhealthy"};

template <class E, std::size_t N>
constexpr E parse_state(const std::array<std::string_view, N>& texts, std::string_view text) {
  for (std::size_t i = 1; i < N; ++i)
    if (texts[i] == text) return static_cast<E>(i);
  return E::unknown;
}

constexpr std::string_view to_text(HostState s) {
  return k_host_state_text[static_cast<std::size_t>(s)];
}
constexpr std::string_view to_text(InstanceState s) {
  return k_instance_state_text[static_cast<std::size_t>(s)];
}
constexpr std::string_view to_text(ProcessPhase p) {
  return k_process_phase_text[static_cast<std::size_t>(p)];
}
constexpr HostState parse_host_state(std::string_view text) {
  return parse_state<HostState>(k_host_state_text, text);
}
constexpr InstanceState parse_instance_state(std::string_view text) {
  return parse_state<InstanceState>(k_instance_state_text, text);
}
constexpr ProcessPhase parse_process_phase(std::string_view text) {
  return parse_state<ProcessPhase>(k_process_phase_text, text);
}
constexpr std::string_view to_text(Health h) { return k_health_text[static_cast<std::size_t>(h)]; }
// Health has no `unknown`: an absent or unknown text reads as `none`.
constexpr Health parse_health(std::string_view text) {
  for (std::size_t i = 1; i < k_health_text.size(); ++i)
    if (k_health_text[i] == text) return static_cast<Health>(i);
  return Health::none;
}
constexpr bool initializing(Health h) {
  return h == Health::initializing || h == Health::reinitializing;
}
constexpr bool unfinished(ProcessPhase p) {
  return p == ProcessPhase::pending || p == ProcessPhase::running;
}

static_assert(parse_host_state("reconnecting") == HostState::reconnecting &&
                  to_text(InstanceState::removed) == "removed" &&
                  parse_process_phase("nonsense") == ProcessPhase::unknown,
              "state texts and enums agree");

}  // namespace stampede::cattle
