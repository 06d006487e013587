#pragma once
// Cattle's in-memory lock manager (single mode): one holder per lock name, waiters queued in
// arrival order. A waiter gives up after `default.lock.wait.millis`; the caller arms that timer
// and calls give_up. Locks live in the server's memory: a crash releases them all.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "sim/core/fields.hpp"

namespace stampede::cattle {

class LockManager {
 public:
  using Owner = std::int64_t;  // a process instance id

  // Takes the lock if it is free (or already held by `owner`); otherwise queues `owner`.
  bool try_acquire(const std::string& lock, Owner owner);
  // Releases the lock and hands it to the next waiter, whose id is returned.
  std::optional<Owner> release(const std::string& lock, Owner owner);
  // Removes a waiter that stopped waiting.
  void give_up(const std::string& lock, Owner owner);
  std::optional<Owner> holder(const std::string& lock) const;
  // The largest number of holders any lock has: 1 at most, by construction; probed by the
  // `lock.mutual_exclusion` invariant so that a broken manager shows.
  int max_holders() const;
  void clear() { locks_.clear(); }

  struct LockState {
    std::optional<Owner> holder;
    std::deque<Owner> waiters;
    STAMPEDE_FIELDS(holder, waiters)
  };
  // The locks as a field list, for the digest of the server that holds them.
  STAMPEDE_FIELDS(locks_)

 private:
  std::map<std::string, LockState> locks_;
};

}  // namespace stampede::cattle
