#pragma once
// Copies for snapshots that reuse the memory of copies no snapshot holds any more. A snapshot's
// copy of a table of maps and vectors (the connection table) allocates every node and buffer
// again, and frees them all when dfs drops the snapshot; on known bug (b)'s plain dfs the
// connection table changes at nearly every step, so that was a quarter of the search's
// allocations (bench/RESULTS.md, session 26). A copy assigned into a retired copy reuses its
// nodes and buffers instead: std::unordered_map's and std::vector's copy assignments keep the
// memory they have. What a copy holds is what a fresh copy would hold; only where it lives
// differs, which no digest and no behaviour reads.
#include <cstddef>
#include <memory>
#include <vector>

namespace stampede::explore {

template <class T>
class Recycler {
 public:
  // A copy of `v`, shared by the snapshots that hold it; when the last lets go it waits here to
  // be assigned the next copy (up to k_keep of them; more are freed).
  std::shared_ptr<const T> copy(const T& v) {
    return take([&] { return std::make_unique<T>(v); }, [&](T& into) { into = v; });
  }
  // The same for a copy that T makes itself: make() returns a fresh one (a std::unique_ptr<T>,
  // null when there is nothing to copy), refresh(into) makes a retired one equal to what make()
  // would return (an HA Cattle server's Node::saved_copy and Node::assign_from).
  // A T with a retire() member has it called when the last holder lets go: what it holds of
  // others (shared state) is let go then rather than when the memory is next reused, and the
  // buffers it keeps stay allocated.
  template <class Make, class Refresh>
  std::shared_ptr<T> take(Make&& make, Refresh&& refresh) {
    std::unique_ptr<T> p;
    if (free_->empty()) {
      p = make();
      if (!p) return nullptr;
    } else {
      p = std::move(free_->back());
      free_->pop_back();
      refresh(*p);
    }
    // The deleter holds the list, which may outlive the engine (dfs keeps snapshots across a
    // re-run from the start on a new engine).
    return std::shared_ptr<T>(p.release(), [list = free_](T* t) {
      if (list->size() >= k_keep) {
        delete t;
        return;
      }
      if constexpr (requires { t->retire(); }) t->retire();
      list->emplace_back(t);
    });
  }

 private:
  static constexpr std::size_t k_keep = 8;
  std::shared_ptr<std::vector<std::unique_ptr<T>>> free_ =
      std::make_shared<std::vector<std::unique_ptr<T>>>();
};

}  // namespace stampede::explore
