#pragma once
// The kernel's busy directions (sim/kernel/kernel.hpp, link_tails_): by direction key
// (from << 32 | to), the slab slot of the direction's last pending event. A direction is busy
// from its first pending event to the pop of its last, which in the HA hour is nearly every
// stream message (1.2 M of them): a std::unordered_map allocated and freed a node for each,
// 5% of the run (bench/RESULTS.md, session 24). This is an open-addressing table in one array
// (linear probing, deletion by backward shift, so no tombstones pile up). It is only ever asked
// for one key, never iterated, so its layout cannot show in a run.
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

namespace stampede {

class LinkTails {
 public:
  // The tail of `key`'s direction, and whether it was absent (then it is set to `slot`).
  std::pair<std::uint32_t*, bool> try_emplace(std::uint64_t key, std::uint32_t slot) {
    if ((size_ + 1) * 4 > cells_.size() * 3) grow();
    std::size_t i = home(key);
    while (cells_[i].key != k_empty) {
      if (cells_[i].key == key) return {&cells_[i].slot, false};
      i = (i + 1) & mask_;
    }
    cells_[i] = Cell{key, slot};
    ++size_;
    return {&cells_[i].slot, true};
  }
  void erase(std::uint64_t key) {
    if (cells_.empty()) return;
    std::size_t i = home(key);
    while (cells_[i].key != key) {
      if (cells_[i].key == k_empty) return;
      i = (i + 1) & mask_;
    }
    // Backward shift: each later cell of the run moves into the hole unless its home lies
    // cyclically after the hole (it would then no longer be found from its home).
    for (std::size_t j = (i + 1) & mask_; cells_[j].key != k_empty; j = (j + 1) & mask_) {
      const std::size_t h = home(cells_[j].key);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        cells_[i] = cells_[j];
        i = j;
      }
    }
    cells_[i].key = k_empty;
    --size_;
  }
  std::size_t size() const { return size_; }

 private:
  // No direction has this key: a node id is below k_no_node (UINT32_MAX).
  static constexpr std::uint64_t k_empty = ~std::uint64_t{0};
  struct Cell {
    std::uint64_t key = k_empty;
    std::uint32_t slot = 0;
  };
  std::size_t home(std::uint64_t key) const {
    // Fibonacci hashing: the high bits of the product spread keys that differ in `to` only.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void grow() {
    std::vector<Cell> old = std::move(cells_);
    const std::size_t capacity = old.empty() ? 64 : old.size() * 2;
    cells_.assign(capacity, Cell{});
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    size_ = 0;
    for (const Cell& c : old)
      if (c.key != k_empty) try_emplace(c.key, c.slot);
  }

  std::vector<Cell> cells_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace stampede
