#include "sim/explore/shrink.hpp"

#include <algorithm>

namespace stampede::explore {

bool ShrinkSize::operator<(const ShrinkSize& o) const {
  if (faults != o.faults) return faults < o.faults;
  if (steps != o.steps) return steps < o.steps;
  if (nonzero != o.nonzero) return nonzero < o.nonzero;
  return sum < o.sum;
}

ShrinkSize size_of(const RunResult& r) {
  ShrinkSize s;
  s.faults = r.faults_used;
  s.steps = r.picks.size();
  for (std::uint32_t p : r.picks) {
    s.nonzero += p != 0;
    s.sum += p;
  }
  return s;
}

namespace {

class Shrinker {
 public:
  Shrinker(const Explorer& ex, const RunResult& original, std::uint64_t max_candidates,
           const std::function<bool()>& should_stop)
      : ex_(ex),
        property_(original.violation->property),
        best_(original),
        size_(size_of(original)),
        max_(max_candidates),
        should_stop_(should_stop) {}

  bool out_of_budget() const {
    return tried_ >= max_ || (should_stop_ && (tried_ % 16) == 0 && should_stop_());
  }

  // Runs a candidate; keeps it (normalised to the picks actually taken) when it still fails
  // the same property and is smaller.
  bool attempt(const std::vector<std::uint32_t>& picks) {
    if (out_of_budget()) return false;
    ++tried_;
    RunResult r = ex_.replay(picks);
    if (!r.violation || r.violation->property != property_) return false;
    ShrinkSize s = size_of(r);
    if (!(s < size_)) return false;
    best_ = std::move(r);
    size_ = s;
    ++accepted_;
    return true;
  }

  void zero_chunks() {
    // ddmin over the positions of non-zero picks: try zeroing halves, quarters, ... singles.
    for (std::size_t chunk = std::max<std::size_t>(1, nonzero_positions().size() / 2);;) {
      bool progress = false;
      std::vector<std::size_t> pos = nonzero_positions();
      for (std::size_t start = 0; start < pos.size() && !out_of_budget(); start += chunk) {
        std::vector<std::uint32_t> c = best_.picks;
        for (std::size_t i = start; i < std::min(pos.size(), start + chunk); ++i) c[pos[i]] = 0;
        if (attempt(c)) {
          progress = true;
          break;
        }
      }
      if (out_of_budget()) return;
      if (progress) continue;  // same chunk size on the smaller run
      if (chunk == 1) return;
      chunk = std::max<std::size_t>(1, chunk / 2);
    }
  }

  void delete_singles() {
    for (std::size_t i = best_.picks.size(); i-- > 0 && !out_of_budget();) {
      if (i >= best_.picks.size()) continue;
      std::vector<std::uint32_t> c = best_.picks;
      c.erase(c.begin() + static_cast<std::ptrdiff_t>(i));
      attempt(c);
    }
  }

  void lower_singles() {
    for (std::size_t i = 0; i < best_.picks.size() && !out_of_budget(); ++i) {
      std::uint32_t v = best_.picks[i];
      if (v <= 1) continue;
      std::vector<std::uint32_t> c = best_.picks;
      c[i] = v / 2;
      if (attempt(c)) continue;
      c[i] = v - 1;
      attempt(c);
    }
  }

  void faults_later() {
    // An injected fault one step later (the step it displaced goes first).
    for (std::size_t i = 0; i + 1 < best_.picks.size() && !out_of_budget(); ++i) {
      if (i >= best_.injected.size() || !best_.injected[i]) continue;
      std::vector<std::uint32_t> c = best_.picks;
      std::swap(c[i], c[i + 1]);
      attempt(c);
    }
  }

  void run() {
    for (;;) {
      std::uint64_t before = accepted_;
      zero_chunks();
      delete_singles();
      lower_singles();
      faults_later();
      if (accepted_ == before || out_of_budget()) return;
    }
  }

  std::vector<std::size_t> nonzero_positions() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < best_.picks.size(); ++i)
      if (best_.picks[i] != 0) out.push_back(i);
    return out;
  }

  const Explorer& ex_;
  std::string property_;
  RunResult best_;
  ShrinkSize size_;
  std::uint64_t max_;
  const std::function<bool()>& should_stop_;
  std::uint64_t tried_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace

ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    std::uint64_t max_candidates, const std::function<bool()>& should_stop) {
  ShrinkResult out;
  out.before = size_of(original);
  Shrinker s(explorer, original, max_candidates, should_stop);
  s.run();
  out.after = s.size_;
  out.candidates = s.tried_;
  out.accepted = s.accepted_;
  // Record the winner's steps for the trace.
  out.best = explorer.replay(s.best_.picks, true);
  return out;
}

}  // namespace stampede::explore
