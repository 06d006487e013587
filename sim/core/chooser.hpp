#pragma once
// Every nondeterministic decision a run makes passes through a Chooser: which of several
// same-instant events goes first, a sampled latency, a drop, a random fault, a model's coin flip.
// The timed engine uses SeededChooser; replay, record and the explorer's strategies are other
// Choosers behind the same interface.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "sim/core/random.hpp"

namespace stampede {

enum class ChoiceKind : std::uint8_t {
  order,      // tie-break between events scheduled for the same instant
  latency,    // a message's network latency
  drop,       // whether a message is lost
  duplicate,  // whether a message is delivered twice
  fault,      // random fault placement (the nemesis)
  model,      // a model's own randomness (backoff jitter, load-balancer picks)
};
inline constexpr int k_choice_kinds = 6;
std::string_view choice_kind_name(ChoiceKind k);

class Chooser {
 public:
  virtual ~Chooser() = default;
  // An index in [0, n); n >= 1.
  virtual std::size_t pick(ChoiceKind kind, std::size_t n) = 0;
  // An integer in [lo, hi], both inclusive.
  virtual std::int64_t uniform(ChoiceKind kind, std::int64_t lo, std::int64_t hi) = 0;
  // A real number in [0, 1).
  virtual double unit(ChoiceKind kind) = 0;
};

// The timed-mode chooser: one named stream per kind of choice, all derived from the root seed.
class SeededChooser final : public Chooser {
 public:
  explicit SeededChooser(std::uint64_t root_seed);
  std::size_t pick(ChoiceKind kind, std::size_t n) override;
  std::int64_t uniform(ChoiceKind kind, std::int64_t lo, std::int64_t hi) override;
  double unit(ChoiceKind kind) override;

 private:
  // The stream of a kind, to draw from: not shared with any copy of this chooser.
  RandomStream& stream(ChoiceKind kind);
  // Copies of a chooser share their streams until one draws from a stream (copy-on-write): the
  // explorer's dfs copies its chooser at nearly every state it saves and copies it back at every
  // backtrack, and the six generators' state (mt19937_64, 2.5 KB each) was a tenth of known bug
  // (b)'s plain dfs (bench/RESULTS.md, session 25, cowdfs), while a step draws from one or none.
  std::array<std::shared_ptr<RandomStream>, k_choice_kinds> streams_;
};

}  // namespace stampede
