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
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "sim/core/state.hpp"

namespace stampede {

template <class T>
class Cow {
 public:
  Cow() : p_(std::make_shared<Block>()) {}
  Cow(T v) : p_(std::make_shared<Block>(std::move(v))) {}  // NOLINT: implicit, as a plain T field
  const T& operator*() const { return p_->value; }
  const T* operator->() const { return &p_->value; }
  // The value to write to, not shared with any other copy. The caller writes through it before
  // the value is next digested (within the step that asked for it), as every caller does.
  T& mut() {
    if (p_.use_count() > 1) p_ = std::make_shared<Block>(p_->value);
    p_->memo_valid = false;
    return p_->value;
  }
  // Whether another copy shares the value (for tests).
  bool shared() const { return p_.use_count() > 1; }

  // The same words as state::add(d, value) adds. A value that did not change since it was last
  // folded in, reached with the same digest value as then, leaves the digest with the same value
  // as then, so that is kept (with the value, shared by its copies) until the next mut(): the
  // explorer digests a node at every step that changes it, and a large part that the step did
  // not touch (a ZooKeeper client's locks, a server's data tree) was folded in again each time.
  void digest_into(Digest& d) const {
    const Block& b = *p_;
    if (b.memo_valid && b.memo_in == d.value()) {
      d = Digest::resumed(b.memo_out);
      return;
    }
    b.memo_in = d.value();
    state::add(d, b.value);
    b.memo_out = d.value();
    b.memo_valid = true;
  }
  std::size_t state_field_count() const { return state::leaf_count(p_->value); }
  std::string perturb_state_field(std::size_t i) { return state::perturb(mut(), i); }

 private:
  struct Block {
    T value;
    // The digest value before and after the value was last folded in (memo_valid: since the last
    // mut()). A cache of what the value digests to, so it lives with the value.
    mutable std::uint64_t memo_in = 0;
    mutable std::uint64_t memo_out = 0;
    mutable bool memo_valid = false;
    Block() = default;
    explicit Block(T v) : value(std::move(v)) {}
  };
  std::shared_ptr<Block> p_;  // never null
};

}  // namespace stampede
