#pragma once
// The registry of every model, built once per test binary: the tests that load scenario files
// share it instead of each building its own.
#include "models/register.hpp"
#include "sim/core/registry.hpp"

namespace stampede::test {

inline const Registry& models_registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    return r;
  }();
  return reg;
}

}  // namespace stampede::test
