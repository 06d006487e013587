// zk::check_lock_mutual_exclusion keeps every node's lock answers between steps and asks again
// only the nodes the engine's change log names (models/zookeeper/invariants.cpp): it fires on two
// live holders of one lock, lets a holder whose session the committed view dropped go, re-reads
// a node only once the log names it, asks (among clients) every node that embeds a ZooKeeper
// client whatever its name, and says what a fresh pass over every node says after
// every step of kernel runs in which locks change hands, clients pause past their sessions and
// crash, and servers crash.
#include <catch2/catch.hpp>
#include <string_view>

#include "world.hpp"

using namespace zktest;

namespace {

// A node that answers the probes it is given ("key" or "key arg") and nothing else.
class Answers final : public Node {
 public:
  void on_start(Ctx&) override {}
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive of its inlined
    // memcpy) on " " + std::string(arg) here, as tests/common/census_watch.hpp notes.
    std::string k(key);
    if (!arg.empty()) {
      k += ' ';
      k += arg;
    }
    auto it = answers.find(k);
    if (it == answers.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, std::int64_t> answers;
};

// A world of hand-set nodes whose change log the test writes, as an engine would.
class HandWorld final : public WorldView {
 public:
  HandWorld() { changes_.enable(); }
  Answers& add(std::string name) {
    auto a = std::make_unique<Answers>();
    Answers& ref = *a;
    add_node(std::move(name), std::move(a));
    return ref;
  }
  void add_node(std::string name, std::unique_ptr<Node> node) {
    names_.push_back(std::move(name));
    nodes_.push_back(std::move(node));
  }
  void stepped(NodeId id) { changes_.node(id); }
  TimeNs now() const override { return 0; }
  std::size_t node_count() const override { return nodes_.size(); }
  std::string_view node_name(NodeId id) const override { return names_[id]; }
  NodeId find(std::string_view name) const override {
    for (NodeId id = 0; id < names_.size(); ++id)
      if (names_[id] == name) return id;
    return k_no_node;
  }
  bool is_up(NodeId) const override { return true; }
  const Node& node(NodeId id) const override { return *nodes_[id]; }

 private:
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// A client holding the locks `hashes` on session `session`.
void hold(Answers& a, std::int64_t session, std::vector<std::int64_t> hashes) {
  a.answers.clear();
  a.answers["zk.session_id"] = session;
  a.answers["zk.held_lock_count"] = static_cast<std::int64_t>(hashes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i)
    a.answers["zk.held_lock " + std::to_string(i)] = hashes[i];
}

// Compares the kept check with a fresh pass after every step, and keeps the first violation.
struct KeptWatch final : StepObserver {
  const WorldView* world = nullptr;
  int steps = 0;
  int differ = 0;
  std::string first_differ;
  std::vector<const ZkLockClient*> clients;
  int claimed_twice = 0;  // steps after which two clients believed they held the lock
  void on_step(const StepInfo& s) override {
    ++steps;
    int claims = 0;
    for (const ZkLockClient* c : clients) claims += c->client().holds("demo") ? 1 : 0;
    claimed_twice += claims >= 2 ? 1 : 0;
    auto kept = check_lock_mutual_exclusion(*world);
    auto full = check_lock_mutual_exclusion_full(*world);
    if (kept == full) return;
    if (differ++ == 0)
      first_differ = fmt::format("step {}: kept '{}', full '{}'", s.index, kept.value_or("-"),
                                 full.value_or("-"));
  }
};

}  // namespace

TEST_CASE(
    "the lock check fires on two live holders of one lock, and not once the committed "
    "view dropped one's session",
    "[lock][check]") {
  HandWorld w;
  Answers& zk = w.add("zookeeper-1");
  zk.answers = {{"zk.committed_count", 10}, {"zk.session_live 7", 1}, {"zk.session_live 8", 1}};
  Answers& a = w.add("zkclient-1");
  Answers& b = w.add("zkclient-2");
  hold(a, 7, {100, 200});
  hold(b, 8, {300});
  CHECK_FALSE(check_lock_mutual_exclusion(w));
  hold(b, 8, {300, 200});
  w.stepped(2);
  CHECK(check_lock_mutual_exclusion(w) ==
        std::optional<std::string>(
            "zkclient-1 and zkclient-2 both hold one lock with live sessions"));
  CHECK(check_lock_mutual_exclusion_full(w) == check_lock_mutual_exclusion(w));
  zk.answers["zk.session_live 7"] = 0;  // the ensemble expired zkclient-1's session
  w.stepped(0);
  CHECK_FALSE(check_lock_mutual_exclusion(w));
  CHECK_FALSE(check_lock_mutual_exclusion_full(w));
}

TEST_CASE("the lock check reads a node again only once the change log names it", "[lock][check]") {
  HandWorld w;
  w.add("zookeeper-1").answers = {
      {"zk.committed_count", 1}, {"zk.session_live 5", 1}, {"zk.session_live 6", 1}};
  Answers& a = w.add("zkclient-1");
  Answers& b = w.add("zkclient-2");
  hold(a, 5, {42});
  hold(b, 6, {});
  CHECK_FALSE(check_lock_mutual_exclusion(w));
  // zkclient-2 takes lock 42 in a step the log does not name: the kept answers stand.
  hold(b, 6, {42});
  CHECK_FALSE(check_lock_mutual_exclusion(w));
  CHECK(check_lock_mutual_exclusion_full(w));
  // Named, it is read again; and after it let go, read again once more.
  w.stepped(2);
  CHECK(check_lock_mutual_exclusion(w));
  hold(b, 6, {});
  w.stepped(2);
  CHECK_FALSE(check_lock_mutual_exclusion(w));
}

TEST_CASE(
    "the lock check among clients asks every node that embeds a ZooKeeper client, whatever its "
    "name, and no node without one",
    "[lock][check]") {
  // Nodes without a client that answer the lock probes (as no registry-built world's agent or
  // server without ZooKeeper does) are never asked, whatever their names.
  HandWorld probes;
  probes.add("zookeeper-1").answers = {
      {"zk.committed_count", 1}, {"zk.session_live 5", 1}, {"zk.session_live 6", 1}};
  hold(probes.add("server-1"), 5, {42});
  hold(probes.add("server-2"), 6, {42});
  CHECK_FALSE(check_lock_mutual_exclusion_among_clients(probes));
  CHECK(check_lock_mutual_exclusion_full(probes));
  // Two lock clients, each of its own ensemble, both holding lock demo, under names outside the
  // prefix list the check used to be given (server-, zkclient-, zkprobe): it finds them.
  HandWorld w;
  Answers& zk = w.add("zookeeper-1");
  zk.answers["zk.committed_count"] = 1;
  std::int64_t first_session = 0;
  for (std::uint64_t seed : {1, 2}) {
    Ensemble e(3, options(seed));
    const ZkLockClient* c = e.add_client("demo", true);
    e.run(10 * k_s);
    REQUIRE(c->client().holds("demo"));
    zk.answers[fmt::format("zk.session_live {}", c->client().session_id())] = 1;
    if (seed == 1) first_session = c->client().session_id();
    w.add_node(fmt::format("lockworker-{}", seed), c->clone());
  }
  for (std::string_view old_prefix : {"server-", "zkclient-", "zkprobe"})
    for (NodeId id = 1; id <= 2; ++id) REQUIRE_FALSE(w.node_name(id).starts_with(old_prefix));
  CHECK(check_lock_mutual_exclusion_among_clients(w) ==
        std::optional<std::string>(
            "lockworker-1 and lockworker-2 both hold one lock with live sessions"));
  CHECK(check_lock_mutual_exclusion_full(w) == check_lock_mutual_exclusion_among_clients(w));
  // Once the committed view drops one holder's session, the two no longer count.
  zk.answers[fmt::format("zk.session_live {}", first_session)] = 0;
  w.stepped(0);
  CHECK_FALSE(check_lock_mutual_exclusion_among_clients(w));
}

TEST_CASE(
    "the kept lock check says what a fresh pass says after every step while locks change "
    "hands, holders pause past their sessions and crash, and servers crash",
    "[lock][check]") {
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    CAPTURE(seed);
    Ensemble e(3, options(seed, {{"zk_lock_client_idle", 0}}));
    KeptWatch kept;
    kept.world = e.k.get();
    e.k->add_observer(&kept);
    for (int i = 0; i < 3; ++i) kept.clients.push_back(e.add_client());
    e.run(20 * k_s);
    // A holder paused past its session's expiry still believes it holds the lock when it
    // wakes, while another client holds it: two claims, one of them dead in the committed view.
    e.k->pause(e.client_ids[0], 40 * k_s);
    e.k->pause(e.client_ids[1], 40 * k_s);
    e.run(70 * k_s);
    e.k->crash(e.client_ids[2]);
    e.crash(0);
    e.run(90 * k_s);
    e.k->restart(e.client_ids[2]);
    e.restart(0);
    e.run(150 * k_s);
    INFO(kept.first_differ);
    CHECK(kept.differ == 0);
    CHECK(kept.claimed_twice > 0);  // the paused holder's claim met another's
    CHECK(kept.steps > 2000);
    CHECK(e.k->counter("zk_lock_acquisitions") >= 30);  // the lock changed hands throughout
    CHECK(e.watch.violations.empty());
  }
}

namespace {

// Compares, after every step, each client's kept held_lock_hashes() with a fresh walk of its
// locks (for_each_held_lock_hash), as the lock check reads an embedded client.
struct HashesWatch final : StepObserver {
  std::vector<const ZkLockClient*> clients;
  int differ = 0;
  int held = 0;  // steps after which some client held a lock
  void on_step(const StepInfo&) override {
    bool any = false;
    for (const ZkLockClient* c : clients) {
      std::vector<std::int64_t> walked;
      c->client().for_each_held_lock_hash([&](std::int64_t h) { walked.push_back(h); });
      differ += walked != c->client().held_lock_hashes() ? 1 : 0;
      any = any || !walked.empty();
    }
    held += any ? 1 : 0;
  }
};

}  // namespace

TEST_CASE(
    "a client's kept lock hashes say what a walk of its locks says after every step while locks "
    "change hands, a holder's session expires and a client crashes",
    "[lock][check]") {
  Ensemble e(3, options(1, {{"zk_lock_client_idle", 0}}));
  HashesWatch watch;
  e.k->add_observer(&watch);
  for (int i = 0; i < 3; ++i) watch.clients.push_back(e.add_client());
  e.run(20 * k_s);
  e.k->pause(e.client_ids[0], 40 * k_s);
  e.run(70 * k_s);
  e.k->crash(e.client_ids[1]);
  e.run(90 * k_s);
  e.k->restart(e.client_ids[1]);
  e.run(120 * k_s);
  CHECK(watch.differ == 0);
  CHECK(watch.held > 500);  // the locks were held, and the hashes were not all empty
  CHECK(e.k->counter("zk_lock_acquisitions") >= 20);
}
