// Implementations of the small sim/core helpers: time formatting, assertions, digests' hex form,
// random streams, the seeded chooser, name patterns, the registry's look-ups and world probes.
#include <fmt/format.h>

#include <atomic>
#include <boost/random/exponential_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "sim/core/assert.hpp"
#include "sim/core/chooser.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/random.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/time.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede {

std::string format_duration(DurationNs d) {
  struct Unit {
    DurationNs size;
    const char* name;
  };
  static constexpr Unit units[] = {{k_h, "h"}, {k_m, "m"}, {k_s, "s"}, {k_ms, "ms"}, {k_us, "us"}};
  const char* sign = d < 0 ? "-" : "";
  DurationNs a = d < 0 ? -d : d;
  for (const Unit& u : units) {
    if (a >= u.size) {
      char buf[64];
      if (a % u.size == 0) {
        std::snprintf(buf, sizeof buf, "%s%lld%s", sign, static_cast<long long>(a / u.size), u.name);
      } else {
        // Integer arithmetic to three decimals, trailing zeros trimmed: no floating point.
        long long whole = a / u.size;
        long long frac = (a % u.size) * 1000 / u.size;
        std::snprintf(buf, sizeof buf, "%s%lld.%03lld", sign, whole, frac);
        std::string s(buf);
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
        return s + u.name;
      }
      return buf;
    }
  }
  return std::string(sign) + std::to_string(a) + "ns";
}

AssertContext& assert_context() {
  // One per thread: sweeps run independent runs on several threads.
  thread_local AssertContext ctx;
  return ctx;
}

void assert_fail(const char* expr, const char* file, int line, const char* why) {
  const AssertContext& c = assert_context();
  std::fprintf(stderr, "stampede: internal error: assertion `%s` failed at %s:%d: %s (seed %llu, step %llu)\n",
               expr, file, line, why, static_cast<unsigned long long>(c.seed),
               static_cast<unsigned long long>(c.step));
  std::fflush(stderr);
  std::_Exit(3);
}

namespace wire {
void contract_failed(std::string_view message_name, std::string_view where) {
  std::string why = fmt::format("a {} message {} breaks its protocol's contract (valid())",
                                message_name, where);
  assert_fail("valid()", __FILE__, __LINE__, why.c_str());
}
}  // namespace wire

namespace timer_tag {
void does_not_fit(std::string_view field, std::uint64_t value, unsigned bits) {
  std::string why =
      fmt::format("timer field '{}' = {} does not fit its {} bits", field, value, bits);
  assert_fail("encode(decode(tag)) == tag", __FILE__, __LINE__, why.c_str());
}
}  // namespace timer_tag

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t derive_seed(std::uint64_t root_seed, std::string_view stream_name) {
  return mix64(mix64(root_seed) ^ hash_bytes(stream_name));
}

RandomStream::RandomStream(std::uint64_t root_seed, std::string_view name)
    : engine_(derive_seed(root_seed, name)) {}

std::int64_t RandomStream::uniform_int(std::int64_t lo, std::int64_t hi) {
  STAMPEDE_ASSERT(lo <= hi, "uniform_int needs lo <= hi");
  // When the range holds a power of two of values, 2^k with k < 64, Boost's algorithm for a
  // 64-bit engine divides one draw by a bucket of exactly 2^(64-k) and never rejects, so a shift
  // gives the very same number without its two 64-bit divisions. The kernel draws such a range
  // (an order key) for every event it schedules.
  const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  const std::uint64_t size = range + 1;
  if (size != 0 && (size & range) == 0) {
    if (range == 0) return lo;
    const int shift = __builtin_clzll(range);  // 64 - k
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + (engine_() >> shift));
  }
  if (size == 0) {
    // Every 64-bit value: Boost returns the draw itself, offset by lo.
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + engine_());
  }
  // Boost's algorithm for a range smaller than the engine's (boost/random/
  // uniform_int_distribution.hpp, generate_uniform_int, the case brange > range): the draw
  // divided by a bucket of (2^64 - 1) / size values, one more when the remainder is `range`, and
  // drawn again while the quotient is past the range. Boost divides twice more at every draw to
  // find the bucket; it is kept here for the last range, which the latency of every stream
  // message asks again (1.3 M draws in the HA hour).
  if (bucket_range_ != range) {
    bucket_range_ = range;
    bucket_ = UINT64_MAX / size;
    if (UINT64_MAX % size == range) ++bucket_;
  }
  for (;;) {
    const std::uint64_t r = engine_() / bucket_;
    if (r <= range) return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + r);
  }
}

double RandomStream::unit() {
  boost::random::uniform_01<double> dist;
  return dist(engine_);
}

bool RandomStream::bernoulli(double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return unit() < p;
}

DurationNs RandomStream::exponential(DurationNs mean_ns) {
  if (mean_ns <= 0) return 0;
  boost::random::exponential_distribution<double> dist(1.0 / static_cast<double>(mean_ns));
  return static_cast<DurationNs>(std::llround(dist(engine_)));
}

std::string_view choice_kind_name(ChoiceKind k) {
  switch (k) {
    case ChoiceKind::order: return "order";
    case ChoiceKind::latency: return "latency";
    case ChoiceKind::drop: return "drop";
    case ChoiceKind::duplicate: return "duplicate";
    case ChoiceKind::fault: return "fault";
    case ChoiceKind::model: return "model";
  }
  return "?";
}

SeededChooser::SeededChooser(std::uint64_t root_seed) {
  for (int k = 0; k < k_choice_kinds; ++k) {
    std::string name = "choice/";
    name += choice_kind_name(static_cast<ChoiceKind>(k));
    streams_[k] = std::make_shared<RandomStream>(root_seed, name);
  }
}

std::size_t SeededChooser::pick(ChoiceKind kind, std::size_t n) {
  STAMPEDE_ASSERT(n >= 1, "pick needs at least one option");
  if (n == 1) return 0;
  return static_cast<std::size_t>(stream(kind).uniform_int(0, static_cast<std::int64_t>(n) - 1));
}

std::int64_t SeededChooser::uniform(ChoiceKind kind, std::int64_t lo, std::int64_t hi) {
  if (lo == hi) return lo;
  RandomStream& s = stream(kind);
  // RandomStream::uniform_int's shortcut for 2^k values, taken here without the call: the
  // kernel draws an order key of 2^62 values for every event it schedules.
  const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  const std::uint64_t size = range + 1;
  if (lo < hi && size != 0 && (size & range) == 0)
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) +
                                     (s.next_u64() >> __builtin_clzll(range)));
  return s.uniform_int(lo, hi);
}

double SeededChooser::unit(ChoiceKind kind) {
  return stream(kind).unit();
}

RandomStream& SeededChooser::stream(ChoiceKind kind) {
  std::shared_ptr<RandomStream>& s = streams_[static_cast<int>(kind)];
  if (s.use_count() > 1) s = std::make_shared<RandomStream>(*s);
  return *s;
}

// Byte comparison of short names without a call to memcmp: invariants and the convergence check
// match node names against patterns like "agent-*" after many steps.
static bool same_bytes(const char* a, const char* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

bool name_matches(std::string_view pattern, std::string_view name) {
  if (pattern.size() == 3 && same_bytes(pattern.data(), "all", 3)) return true;
  if (!pattern.empty() && pattern.back() == '*') {
    std::size_t n = pattern.size() - 1;
    return name.size() >= n && same_bytes(name.data(), pattern.data(), n);
  }
  return pattern.size() == name.size() && same_bytes(pattern.data(), name.data(), name.size());
}

std::int64_t resolved_timing(const TimingMap& timings,
                             std::string_view name) {
  auto it = timings.find(name);
  STAMPEDE_ASSERT(it != timings.end(), "a model asked for an unregistered timing");
  return it->second;
}

bool resolved_mechanism(const MechanismMap& mechanisms, std::string_view name) {
  auto it = mechanisms.find(name);
  STAMPEDE_ASSERT(it != mechanisms.end(), "a model asked for an unregistered mechanism");
  return it->second;
}

bool step_may_affect(const std::vector<std::string>& depends_on, std::string_view node) {
  if (depends_on.empty()) return true;
  for (const std::string& pattern : depends_on)
    if (name_matches(pattern, node)) return true;
  return false;
}

template <class T>
static const T* find_by_name(const std::vector<T>& v, std::string_view name) {
  for (const T& x : v)
    if (x.name == name) return &x;
  return nullptr;
}

bool Registry::bound_timing(std::string_view name, std::int64_t min_value,
                            std::int64_t max_value) {
  bool found = false;
  for (TimingDef& t : timings_)
    if (t.name == name) {
      t.min_value = min_value;
      t.max_value = max_value;
      found = true;
    }
  return found;
}

const TimingDef* Registry::find_timing(std::string_view n) const { return find_by_name(timings_, n); }
const MechanismDef* Registry::find_mechanism(std::string_view n) const {
  return find_by_name(mechanisms_, n);
}
const InvariantDef* Registry::find_invariant(std::string_view n) const {
  return find_by_name(invariants_, n);
}
const NamedDef* Registry::find_signal(std::string_view n) const { return find_by_name(signals_, n); }
const EventDef* Registry::find_event(std::string_view n) const { return find_by_name(events_, n); }

SeriesId Recorder::intern(std::string_view name) {
  for (SeriesId i = 0; i < metric_names_.size(); ++i)
    if (metric_names_[i] == name) return i;
  metric_names_.emplace_back(name);
  counters_.push_back(0);
  series_.emplace_back();
  return static_cast<SeriesId>(metric_names_.size() - 1);
}

std::int64_t Recorder::counter(std::string_view name) const {
  for (std::size_t i = 0; i < metric_names_.size(); ++i)
    if (metric_names_[i] == name) return counters_[i];
  return 0;
}

const std::vector<Sample>* Recorder::series(std::string_view name) const {
  for (std::size_t i = 0; i < metric_names_.size(); ++i)
    if (metric_names_[i] == name) return &series_[i];
  return nullptr;
}

std::string_view connection_event_name(ConnectionEvent e) {
  return e == ConnectionEvent::closed ? "closed" : "refused";
}

std::uint64_t fold_step(std::uint64_t rolling_hash, const StepInfo& step) {
  Digest d;
  d.add(rolling_hash)
      .add(static_cast<std::uint64_t>(step.kind))
      .add_signed(step.time_ns)
      .add(step.node)
      .add(step.from)
      .add(step.msg_type)
      .add(step.detail);
  return d.value();
}

std::uint64_t world_digest(std::uint64_t rolling_hash, std::uint64_t steps, const WorldView& world) {
  Digest d;
  d.add(rolling_hash).add(steps);
  for (NodeId id = 0; id < world.node_count(); ++id)
    d.add(world.node_name(id))
        .add(world.is_up(id) ? 1u : 0u)
        .add(world.node(id).state_digest());
  return d.value();
}

std::size_t next_view_cache_slot() {
  // A sweep's threads may each meet a cache type first; the slot numbers only index a table.
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1);
}

namespace {
// WorldView::nodes_with_prefix's lists, made again when nodes were added since.
struct PrefixGroups final : ViewCache {
  std::size_t node_count = 0;
  // A deque: a list handed out stays where it is when another prefix is added.
  std::deque<std::pair<std::string, std::vector<NodeId>>> groups;
};
}  // namespace

const std::vector<NodeId>& WorldView::nodes_with_prefix(std::string_view prefix) const {
  PrefixGroups& c = cache<PrefixGroups>();
  if (c.node_count != node_count()) {
    c.groups.clear();
    c.node_count = node_count();
  }
  for (const auto& [p, ids] : c.groups)
    if (p == prefix) return ids;
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < c.node_count; ++id)
    if (node_name(id).starts_with(prefix)) ids.push_back(id);
  return c.groups.emplace_back(std::string(prefix), std::move(ids)).second;
}

std::int64_t WorldView::probe_sum(std::string_view pattern, std::string_view key,
                                  std::string_view arg) const {
  std::int64_t sum = 0;
  for (NodeId id = 0; id < node_count(); ++id) {
    if (!name_matches(pattern, node_name(id)) || !is_up(id)) continue;
    if (auto v = node(id).probe(key, arg)) sum += *v;
  }
  return sum;
}

std::optional<std::int64_t> WorldView::probe_one(std::string_view name, std::string_view key,
                                                 std::string_view arg) const {
  NodeId id = find(name);
  if (id == k_no_node || !is_up(id)) return std::nullopt;
  return node(id).probe(key, arg);
}

}  // namespace stampede
