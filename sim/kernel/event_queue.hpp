#pragma once
// One of the kernel's two queues of pending events (sim/kernel/kernel.hpp): small entries that
// point into the kernel's slab of events, taken out in the order EventQueue::earlier gives. That
// order is total (time, order key, sequence number), so which entry comes out next never depends
// on how the queue lays its entries out: a flat array and a heap give the same steps.
//
// The queue of deliveries holds only the first pending event of each busy direction, which in the
// HA hour (bench/ha.sh) is six entries on average: there a 4-ary heap spent two levels of
// sifting (eight comparisons) on every pop, 7% of the run's instructions. While it is small the
// queue is a flat array that remembers where its earliest entry is: a push compares once, a pop
// scans what is left. Past k_flat_max entries it becomes a 4-ary heap (built bottom up, once), and
// it goes back to the flat array for free when it has shrunk to k_flat_again (a heap's earliest
// entry is its first).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sim/core/time.hpp"

namespace stampede {

class EventQueue {
 public:
  struct Entry {
    TimeNs time_ns;
    std::uint64_t key;
    std::uint64_t seq;
    std::uint32_t slot;  // the event's place in the kernel's slab
  };

  // Whether x runs before y: by time, then order key, then sequence number. Written without
  // branches: sifting compares random keys, whose outcomes a branch predictor cannot learn.
  static bool earlier(const Entry& x, const Entry& y) {
    // Times are never negative, but flipping the sign bit keeps the order of any int64.
    constexpr std::uint64_t sign = std::uint64_t{1} << 63;
    const std::uint64_t xt = static_cast<std::uint64_t>(x.time_ns) ^ sign;
    const std::uint64_t yt = static_cast<std::uint64_t>(y.time_ns) ^ sign;
#if defined(__x86_64__)
    // x < y as 192-bit numbers (time, key, seq): the borrow out of x - y, three sbb in a row.
    unsigned long long diff;
    unsigned char borrow = _subborrow_u64(0, x.seq, y.seq, &diff);
    borrow = _subborrow_u64(borrow, x.key, y.key, &diff);
    borrow = _subborrow_u64(borrow, xt, yt, &diff);
    return borrow != 0;
#else
    if (xt != yt) return xt < yt;
    if (x.key != y.key) return x.key < y.key;
    return x.seq < y.seq;
#endif
  }

  bool empty() const {
    return v_.empty();
  }
  std::size_t size() const {
    return v_.size();
  }
  // The entry that runs first; the queue is not empty.
  const Entry& top() const {
    return v_[top_];
  }

  void push(TimeNs time_ns, std::uint64_t key, std::uint64_t seq, std::uint32_t slot) {
    // The fields are passed and stored one by one: perf showed a push stalling on store
    // forwarding when an entry assembled on the stack was copied as a whole.
    if (heap_) {
      heap_push(time_ns, key, seq, slot);
      return;
    }
    Entry& e = v_.emplace_back();
    e.time_ns = time_ns;
    e.key = key;
    e.seq = seq;
    e.slot = slot;
    const std::size_t last = v_.size() - 1;
    top_ = earlier(e, v_[top_]) ? last : top_;
    if (v_.size() > k_flat_max) make_heap();
  }

  // Takes out the entry that runs first; the queue is not empty.
  Entry pop() {
    const Entry out = v_[top_];
    if (heap_) {
      heap_pop();
      // A heap's earliest entry is its first, so it is a valid flat array as it stands.
      if (v_.size() <= k_flat_again) heap_ = false;
      return out;
    }
    v_[top_] = v_.back();
    v_.pop_back();
    std::size_t best = 0;
    for (std::size_t i = 1; i < v_.size(); ++i) best = earlier(v_[i], v_[best]) ? i : best;
    top_ = best;
    return out;
  }

  // Keeps the entries for which keep(entry) is true (in place, no allocation) and orders the
  // queue again: O(n), for the kernel's drop of cancelled timers.
  template <class Keep>
  void retain(Keep&& keep) {
    std::size_t kept = 0;
    for (const Entry& e : v_)
      if (keep(e)) v_[kept++] = e;
    v_.resize(kept);
    if (heap_ && kept > k_flat_again) {
      make_heap();
      return;
    }
    heap_ = false;
    top_ = 0;
    for (std::size_t i = 1; i < v_.size(); ++i) top_ = earlier(v_[i], v_[top_]) ? i : top_;
  }

  // Every entry, in no particular order.
  const std::vector<Entry>& entries() const {
    return v_;
  }

 private:
  // A flat pop compares every entry left, a heap's pop four per level and its push about one:
  // past a dozen entries the heap is cheaper. The gap between the two sizes keeps a queue that
  // hovers around one of them from building a heap at every other push.
  static constexpr std::size_t k_flat_max = 12;
  static constexpr std::size_t k_flat_again = 6;
  // Each heap is 4-ary: half the levels of a binary heap, and the four children of a node share
  // a cache line pair.
  static constexpr std::size_t k_arity = 4;

  void heap_push(TimeNs time_ns, std::uint64_t key, std::uint64_t seq, std::uint32_t slot) {
    std::size_t i = v_.size();
    v_.emplace_back();
    Entry e;
    e.time_ns = time_ns;
    e.key = key;
    e.seq = seq;
    e.slot = slot;
    while (i > 0) {
      const std::size_t parent = (i - 1) / k_arity;
      if (!earlier(e, v_[parent])) break;
      v_[i] = v_[parent];
      i = parent;
    }
    Entry& dst = v_[i];
    dst.time_ns = time_ns;
    dst.key = key;
    dst.seq = seq;
    dst.slot = slot;
  }
  void heap_pop() {
    const Entry last = v_.back();
    v_.pop_back();
    if (v_.empty()) return;
    v_.front() = last;
    sift_down(0);
  }
  // Moves entry i down to its place among its descendants.
  void sift_down(std::size_t i) {
    const std::size_t n = v_.size();
    const Entry moving = v_[i];
    for (;;) {
      const std::size_t first = k_arity * i + 1;
      if (first >= n) break;
      const std::size_t end = std::min(first + k_arity, n);
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) best = earlier(v_[c], v_[best]) ? c : best;
      if (!earlier(v_[best], moving)) break;
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = moving;
  }
  // Floyd's bottom-up build: the last entry with children is the parent of the last entry.
  void make_heap() {
    const std::size_t n = v_.size();
    for (std::size_t i = n > 1 ? (n - 2) / k_arity + 1 : 0; i-- > 0;) sift_down(i);
    heap_ = true;
    top_ = 0;
  }

  std::vector<Entry> v_;
  std::size_t top_ = 0;  // the earliest entry's index (0 while a heap)
  bool heap_ = false;
};

}  // namespace stampede
