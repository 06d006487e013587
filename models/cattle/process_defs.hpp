#pragma once
// The process definitions of Cattle's process engine that the model runs: each moves one resource
// from a start state, through a transitioning state written before the handler works, to a done
// state written when it has finished. A process instance row records every run in the store, so
// that an unfinished one is replayed after a crash.
#include <string_view>
#include <vector>

namespace stampede::cattle {

// What a handler does between the transitioning and the done state.
enum class HandlerKind {
  none,            // nothing beyond the state change
  start_on_agent,  // ask the instance's agent to start its container and wait for the answer
  stop_on_agent,   // ask the instance's agent to stop its container and wait for the answer,
                   // unless its host is reconnecting (then finish at once)
};

struct ProcessDef {
  std::string_view name;           // "instance.start"
  std::string_view table;          // the resource's table
  std::vector<std::string_view> from;
  std::string_view transitioning;  // "" when the process moves straight to `done`
  std::string_view done;
  HandlerKind handler = HandlerKind::none;
};

// The definition of a process, or nullptr for an unknown name.
const ProcessDef* find_process(std::string_view name);

}  // namespace stampede::cattle
