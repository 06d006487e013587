#pragma once
// The ZooKeeper model's invariants: checks over the world, through probes the servers and clients
// answer (the lock check keeps the answers of nodes that did not change in the run's view cache).
#include <optional>
#include <string>

#include "sim/core/registry.hpp"

namespace stampede::zk {

class EmbedsZkClient;

// How a lock check finds the ZooKeeper client a node embeds (null when it embeds none), for a
// caller that knows its node types: the dynamic_cast it replaces is a cross-cast, some 340
// instructions after every step at a server (issue 13, callgrind). Null: the dynamic_cast.
using EmbeddedClientOf = const EmbedsZkClient* (*)(const Node& n);

// No two clients hold one lock while both their sessions are live in ZooKeeper's committed view
// (the live server with the longest committed log).
// It keeps each node's answers between steps in the run's view cache and asks again only the
// nodes that changed since (the engine's change log).
std::optional<std::string> check_lock_mutual_exclusion(const WorldView& w);
// The same, asking only the nodes that embed a ZooKeeper client (EmbedsZkClient, zk_client.hpp):
// in a world built by the registries they are the only ones that can hold a lock, and the others
// (agents, balancers, clients, databases), at whose steps most of a run goes, are never asked.
// Exact as long as no other node answers zk.held_lock_count with more than 0.
// `embeds` finds a node's client (null: the dynamic_cast).
std::optional<std::string> check_lock_mutual_exclusion_among_clients(
    const WorldView& w, EmbeddedClientOf embeds = nullptr);
// The same property from a fresh pass over every node: what the kept check must always say.
std::optional<std::string> check_lock_mutual_exclusion_full(const WorldView& w);
// No two live servers lead (with an established epoch) in the same epoch.
std::optional<std::string> check_single_leader_per_epoch(const WorldView& w);
// Committed logs agree, and a server synced in a later epoch holds every committed txn.
std::optional<std::string> check_committed_never_lost(const WorldView& w);
// The last write the probe (zkprobe) was told had committed is in the log of every live leader
// that serves: what a client relies on, and what forceSync=no loses when a whole ensemble loses
// power (the servers agree among themselves, so zk.committed_never_lost sees nothing).
std::optional<std::string> check_acknowledged_write_kept(const WorldView& w);

}  // namespace stampede::zk
