#pragma once
// The registry the explorer tests share: every model, the lease-lock model included.
#include "models/lease_lock/register.hpp"
#include "models/register.hpp"

namespace stampede::test {

inline const Registry& explore_registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    if (!r.find_timing("lease_lock_clients")) register_lease_lock(r);
    return r;
  }();
  return reg;
}

}  // namespace stampede::test
