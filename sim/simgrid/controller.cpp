// The controller actor of the SimGrid engine: it runs scheduled faults, checks and the ends of
// pauses at their instants, on a host of its own.
#include <algorithm>

#include "sim/core/assert.hpp"
#include "sim/simgrid/engine_parts.hpp"
#include "sim/simgrid/time_convert.hpp"

namespace stampede {

void SimgridEngine::at(TimeNs t, StepKind kind, std::function<void()> fn) {
  STAMPEDE_ASSERT(kind == StepKind::fault || kind == StepKind::check,
                  "scheduled actions are faults or checks");
  Action a;
  a.time_ns = std::max(t, now());
  a.rank = kind == StepKind::check ? 2 : 0;
  a.kind = kind;
  a.fn = std::move(fn);
  schedule(std::move(a));
}

void SimgridEngine::schedule(Action a) {
  Controller& c = *controller_;
  a.seq = c.seq++;
  c.actions.emplace(std::make_tuple(a.time_ns, a.rank, a.seq), std::move(a));
  // The controller re-reads its queue after each action it runs; anyone else must wake it, in
  // case the new action comes before the one it sleeps towards.
  // A failed transfer's callback (SimgridEngine::lost) runs in SimGrid's maestro, no actor.
  bool from_controller =
      started_ && !sg4::Actor::is_maestro() && sg4::this_actor::get_pid() == c.pid;
  if (started_ && !from_controller && c.wake && !c.wake_pending) {
    c.wake_pending = true;
    c.wake->release();
  }
}

void SimgridEngine::controller_main() {
  Controller& c = *controller_;
  try {
    while (!stopped_) {
      if (c.actions.empty()) {
        c.wake->acquire();
        c.wake_pending = false;
        continue;
      }
      const Action& next = c.actions.begin()->second;
      // Rank 1 (a held stream message's retransmission) runs at the instant itself.
      const double offset_s = next.rank == 0   ? -sg::k_before_s
                              : next.rank == 2 ? sg::k_after_s
                                               : 0.0;
      double target_s = sg::to_seconds(next.time_ns) + offset_s;
      double wait_s = target_s - sg4::Engine::get_clock();
      if (wait_s > 0 && !c.wake->acquire_timeout(wait_s)) {
        c.wake_pending = false;  // woken by a new action: look again
        continue;
      }
      Action a = std::move(c.actions.begin()->second);
      c.actions.erase(c.actions.begin());
      if (a.quiet) {
        a.fn();
        continue;
      }
      StepInfo info;
      info.time_ns = now();
      info.kind = a.kind;
      if (a.kind == StepKind::resume) {
        NodeSlot& s = *nodes_[a.node];
        if (!s.up || s.epoch != a.epoch || s.paused_until_ns > now()) continue;
        info.node = a.node;
        finish_step(info);
        s.paused_until_ns = 0;
        if (s.main) s.main->resume();
        notify(a.node);  // what arrived or fell due during the pause, in order
      } else {
        info.detail = a.seq;
        // Counted before the action runs, so that an assertion inside it names this step.
        finish_step(info);
        a.fn();
        if (network_->version() != synced_network_version_) {
          links_->sync(*network_);
          synced_network_version_ = network_->version();
        }
      }
      after_step(info);
    }
  } catch (const std::exception&) {
    fail(std::current_exception());
  }
}

}  // namespace stampede
