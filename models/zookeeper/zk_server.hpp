#pragma once
// A ZooKeeper server (zookeeper-N): FastLeaderElection, Zab's discovery / sync / broadcast
// phases, the replicated data tree, and client sessions with ephemeral nodes and watches.
// Sans-I/O: it only reacts to messages and timers through its Ctx.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/zookeeper/bodies.hpp"
#include "models/zookeeper/data_tree.hpp"
#include "models/zookeeper/durable.hpp"
#include "models/zookeeper/vote.hpp"
#include "sim/core/node.hpp"

namespace stampede::zk {

class ZkServer final : public Node {
 public:
  // `sid` is 1-based; the ensemble is zookeeper-1..ensemble_size. `initial` seeds the on-disk
  // state (tests use it to start from a given epoch or log).
  ZkServer(int sid, int ensemble_size, Durable initial = {});

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;

  // Read-only views for tests.
  ServerState state() const { return state_; }
  bool serving() const;
  int leader_sid() const { return leader_sid_; }
  const Durable& durable() const { return disk_; }
  const DataTree& tree() const { return tree_; }
  std::int64_t vote_changes() const { return vote_changes_; }

 private:
  enum TimerKind : std::uint32_t {
    t_poll = 1,
    t_finalize,
    t_leader_tick,
    t_leader_deadline,
    t_follower_tick,
    t_follower_connect,
    t_flush_votes
  };
  struct VoteRec {
    Vote vote;
    std::int64_t election_epoch = 0;
    ServerState state = ServerState::looking;
  };
  enum class Phase : std::uint8_t { info, epoch_acked, syncing, synced };
  struct Learner {
    NodeId node = k_no_node;
    std::int64_t conn = 0;
    std::int64_t seq_out = 0;
    Phase phase = Phase::info;
    std::int64_t accepted_epoch = 0;
    std::size_t synced_len = 0;  // history length sent in new_leader
    TimeNs last_heard = 0;
  };
  struct LeaderState {
    std::int64_t new_epoch = -1;  // -1 until a quorum of follower_info decided it
    bool established = false;     // a quorum acked the new epoch
    bool ready = false;           // a quorum synced: committing and serving
    std::int64_t max_accepted = 0;
    std::set<int> info_from, epoch_acks, new_leader_acks;
    std::map<int, Learner> learners;
    std::map<std::int64_t, std::set<int>> acks;  // outstanding proposals
    std::int64_t counter = 0;
    std::map<std::int64_t, TimeNs> session_expiry;
    std::set<std::int64_t> closing;
    std::int64_t half_ticks = 0;
    TimeNs deadline_at = 0;  // the current phase must finish by then (initLimit ticks)
  };
  struct FollowerState {
    NodeId leader = k_no_node;
    std::int64_t conn = 0;
    std::int64_t next_seq = 0;
    std::map<std::int64_t, Message> early;  // arrived ahead of their turn
    bool synced = false;
    bool up_to_date = false;
    TimeNs last_heard = 0;
    std::set<std::int64_t> touched;
  };
  struct ClientConn {
    std::int64_t conn = 0;
    std::int64_t session = 0;
    bool established = false;
  };

  // Common.
  std::uint64_t tag(TimerKind k) const;
  void set_state(Ctx& ctx, ServerState s);
  int quorum() const { return ensemble_ / 2 + 1; }
  int sid_of(NodeId node) const;
  Vote self_vote() const { return Vote{sid_, disk_.last_zxid(), disk_.current_epoch}; }
  void commit_to(Ctx& ctx, std::size_t count);
  void apply_entry(Ctx& ctx, const LoggedTxn& e);
  void submit(Ctx& ctx, Txn txn);
  void shutdown_to_looking(Ctx& ctx, std::string_view why);
  std::int64_t tick_ns(Ctx& ctx) const;

  // Election (zk_election.cpp).
  void start_looking(Ctx& ctx);
  void send_notifications(Ctx& ctx);
  void send_vote_to(Ctx& ctx, NodeId to, ServerState state);
  void write_vote(Ctx& ctx, int sid);
  void flush_votes(Ctx& ctx);
  void on_notification(Ctx& ctx, NodeId from, const VoteBody& n);
  void update_proposal(const Vote& v);
  bool term_predicate(const std::map<int, VoteRec>& set, const Vote& v, std::int64_t ee) const;
  bool check_leader(const std::map<int, VoteRec>& set, std::int64_t leader, std::int64_t ee) const;
  void arm_poll(Ctx& ctx);
  void decide(Ctx& ctx, const Vote& v, std::int64_t ee);
  bool correct_order(Ctx& ctx) const;

  // Leader (zk_leader.cpp).
  void become_leader(Ctx& ctx);
  void on_learner_message(Ctx& ctx, int sid, NodeId from, const Message& m);
  void decide_epoch(Ctx& ctx);
  void arm_deadline(Ctx& ctx);
  void on_epoch_quorum(Ctx& ctx);
  void sync_learner(Ctx& ctx, int sid);
  void become_ready(Ctx& ctx);
  void send_to_learner(Ctx& ctx, int sid, Message m);
  void propose(Ctx& ctx, Txn txn);
  void try_commit(Ctx& ctx);
  void leader_tick(Ctx& ctx);
  void touch(Ctx& ctx, std::int64_t session);

  // Follower (zk_follower.cpp).
  void become_follower(Ctx& ctx, int leader);
  void on_leader_stream(Ctx& ctx, const Message& m);
  void process_leader_message(Ctx& ctx, const Message& m);
  void follower_tick(Ctx& ctx);
  void follower_connect(Ctx& ctx);

  // Clients (zk_clients.cpp).
  void on_client_message(Ctx& ctx, NodeId from, const Message& m);
  void reply_client(Ctx& ctx, NodeId client, std::uint32_t type, std::int64_t b, std::int64_t c,
                    std::shared_ptr<const Payload> body = nullptr);
  void close_all_clients(Ctx& ctx);
  void answer_origin(Ctx& ctx, const Txn& t, const ApplyResult& r);
  void fire_watches(Ctx& ctx, const ApplyResult& r);
  void touch_local(Ctx& ctx, std::int64_t session);
  void on_probe_write(Ctx& ctx, NodeId from, const Message& m);

  // Configuration.
  int sid_;
  int ensemble_;
  // Durable.
  Durable disk_;
  // Volatile.
  std::vector<NodeId> peers_;  // index sid-1
  ServerState state_ = ServerState::looking;
  std::uint32_t gen_ = 0;  // bumped on every state change; stale timers carry an old one
  int leader_sid_ = 0;
  DataTree tree_;
  // Election.
  std::int64_t logical_clock_ = 0;
  Vote proposal_;
  Vote end_vote_;
  std::int64_t end_election_epoch_ = 0;
  std::map<int, VoteRec> recvset_, outofelection_;
  DurationNs not_timeout_ns_ = 0;
  bool finalizing_ = false;
  TimerId poll_timer_ = 0;
  std::int64_t vote_changes_ = 0;
  // QuorumCnxManager's per-peer send queue holds one message (SEND_CAPACITY = 1): a newer
  // notification replaces one not yet written. Modelled as at most one notification per peer per
  // k_vote_send_gap_ns, the newest vote going out when the gap ends.
  std::vector<TimeNs> vote_send_ok_;  // index sid-1
  std::vector<std::uint8_t> vote_queued_;
  bool flush_armed_ = false;
  // Roles.
  LeaderState lead_;
  FollowerState follow_;
  // Clients.
  std::map<NodeId, ClientConn> clients_;
  std::map<std::string, std::set<NodeId>> data_watches_, child_watches_;
  std::int64_t next_session_ = 0;
  // Metrics.
  SeriesId m_elections_ = 0, m_commits_ = 0;
};

}  // namespace stampede::zk
