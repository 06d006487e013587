#pragma once
// The ZooKeeper model's invariants: checks over the world, through probes the servers and clients
// answer (the lock check keeps the answers of nodes that did not change in the run's view cache).
#include <optional>
#include <string>

#include "sim/core/registry.hpp"

namespace stampede::zk {

// No two clients hold one lock while both their sessions are live in ZooKeeper's committed view
// (the live server with the longest committed log).
// It keeps each node's answers between steps in the run's view cache and asks again only the
// nodes that changed since (the engine's change log).
std::optional<std::string> check_lock_mutual_exclusion(const WorldView& w);
// The same property from a fresh pass over every node: what the kept check must always say.
std::optional<std::string> check_lock_mutual_exclusion_full(const WorldView& w);
// No two live servers lead (with an established epoch) in the same epoch.
std::optional<std::string> check_single_leader_per_epoch(const WorldView& w);
// Committed logs agree, and a server synced in a later epoch holds every committed txn.
std::optional<std::string> check_committed_never_lost(const WorldView& w);

}  // namespace stampede::zk
