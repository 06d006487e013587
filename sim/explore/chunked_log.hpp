#pragma once
// An append-only list whose copies share their filled chunks: the explorer engine's per-step
// history (picks, identities, flags, footprints). dfs saves a snapshot at nearly every new state
// and restores one at every backtrack; with plain vectors each of those copied the whole
// history of a run of up to thousands of steps, and on known bug (b)'s plain dfs the copies
// and their malloc/free were about a fifth of the search (bench/RESULTS.md, session 25, cowdfs).
// Here a copy costs one pointer per full chunk and at most one chunk of entries.
#include <cstddef>
#include <memory>
#include <vector>

namespace stampede::explore {

template <class T>
class ChunkedLog {
 public:
  // Entries per chunk: a copy copies at most this many entries, and one pointer per chunk.
  static constexpr std::size_t k_chunk = 128;

  std::size_t size() const { return full_.size() * k_chunk + tail_.size(); }
  bool empty() const { return size() == 0; }
  const T& operator[](std::size_t i) const {
    const std::size_t c = i / k_chunk;
    return c < full_.size() ? (*full_[c])[i % k_chunk] : tail_[i - full_.size() * k_chunk];
  }
  const T& back() const { return (*this)[size() - 1]; }
  // A full chunk is never written again: every copy that holds it reads the same entries.
  void push_back(const T& v) {
    tail_.push_back(v);
    if (tail_.size() == k_chunk) {
      full_.push_back(std::make_shared<const std::vector<T>>(std::move(tail_)));
      tail_ = std::vector<T>();
      tail_.reserve(k_chunk);
    }
  }
  void clear() {
    full_.clear();
    tail_.clear();
  }
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(size());
    for (const auto& c : full_) out.insert(out.end(), c->begin(), c->end());
    out.insert(out.end(), tail_.begin(), tail_.end());
    return out;
  }

 private:
  std::vector<std::shared_ptr<const std::vector<T>>> full_;  // each exactly k_chunk entries
  std::vector<T> tail_;                                      // fewer than k_chunk entries
};

}  // namespace stampede::explore
