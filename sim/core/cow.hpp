#pragma once
// A state value shared between copies until one of them writes (copy-on-write). A node's state
// is copied whole whenever the explorer saves it for a snapshot or puts it back; a large part
// that most steps only read (a ZooKeeper server's data tree, its txn log) is then shared by the
// copies, and the first write after a copy copies that part alone. Reading goes through * and
// ->, writing through mut(), which is where the copy happens: a write that bypassed it would
// reach every copy, so there is no other way to a non-const T.
//
// For the state machinery (sim/core/state.hpp) a Cow<T> is T itself: the same digest (a
// snapshot of a node keeps the run digests pinned before the sharing), and the same fields to
// perturb, named as T's.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "sim/core/state.hpp"

namespace stampede {

template <class T>
class Cow {
 public:
  Cow() : p_(std::make_shared<T>()) {}
  Cow(T v) : p_(std::make_shared<T>(std::move(v))) {}  // NOLINT: implicit, as a plain T field
  const T& operator*() const { return *p_; }
  const T* operator->() const { return p_.get(); }
  // The value to write to, not shared with any other copy.
  T& mut() {
    if (p_.use_count() > 1) p_ = std::make_shared<T>(*p_);
    return *p_;
  }
  // Whether another copy shares the value (for tests).
  bool shared() const { return p_.use_count() > 1; }

  void digest_into(Digest& d) const { state::add(d, *p_); }
  std::size_t state_field_count() const { return state::leaf_count(*p_); }
  std::string perturb_state_field(std::size_t i) { return state::perturb(mut(), i); }

 private:
  std::shared_ptr<T> p_;  // never null
};

}  // namespace stampede
