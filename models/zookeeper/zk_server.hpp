#pragma once
// A ZooKeeper server (zookeeper-N): FastLeaderElection, Zab's discovery / sync / broadcast
// phases, the replicated data tree, and client sessions with ephemeral nodes and watches.
// Sans-I/O: it only reacts to messages and timers through its Ctx.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/zookeeper/bodies.hpp"
#include "models/zookeeper/data_tree.hpp"
#include "models/zookeeper/durable.hpp"
#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/vote.hpp"
#include "sim/core/cow.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::zk {

class ZkServer final : public Node {
 public:
  // `sid` is 1-based; the ensemble is zookeeper-1..ensemble_size. `initial` seeds the on-disk
  // state (tests use it to start from a given epoch or log).
  ZkServer(int sid, int ensemble_size, Disk initial = {});

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  void on_power_loss(TimeNs now_ns) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;
  DurationNs exit_teardown_ns() const override { return cfg_.exit_teardown_ns; }
  std::unique_ptr<Node> clone() const override { return std::make_unique<ZkServer>(*this); }
  std::size_t state_field_count() const override;
  std::string perturb_state_field(std::size_t i) override;

  // Read-only views for tests.
  ServerState state() const { return vol_.state; }
  bool serving() const;
  int leader_sid() const { return vol_.leader_sid; }
  const Disk& disk() const { return durable_.disk; }
  const DataTree& tree() const { return *vol_.tree; }
  std::int64_t vote_changes() const { return durable_.vote_changes; }

 private:
  struct VoteRec {
    Vote vote;
    std::int64_t election_epoch = 0;
    ServerState state = ServerState::looking;
    STAMPEDE_FIELDS(vote, election_epoch, state)
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
    // LearnerHandler.tickOfNextAckDeadline: the leader's tick by which it must hear from this
    // learner again to count it as synced (LearnerHandler.java:465, 666 at release-3.8.0-1).
    std::int64_t ack_deadline_tick = 0;
    STAMPEDE_FIELDS(node, conn, seq_out, phase, accepted_epoch, synced_len, last_heard,
                    ack_deadline_tick)
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
    // Leader.lead's loop once ready: QuorumPeer.tick (set to 0 when leading starts,
    // Leader.java:596, advanced every other half tick) and the tickSkip flag of that loop.
    std::int64_t tick = 0;
    bool tick_skip = true;
    TimeNs deadline_at = 0;  // the current phase must finish by then (initLimit ticks)
    // When the pending session-expiry timer fires (0: none is pending).
    TimeNs expiry_timer_at = 0;
    // The quorum port is bound (zk_leader_bind_time after the election): a learner that
    // connects before is refused.
    bool bound = false;
    // A quorum acked NEWLEADER and the leader is starting its request processors
    // (zk_leader_startup_time) before it serves.
    bool starting = false;
    STAMPEDE_FIELDS(new_epoch, established, ready, max_accepted, info_from, epoch_acks,
                    new_leader_acks, learners, acks, counter, session_expiry, closing, half_ticks,
                    tick, tick_skip, deadline_at, expiry_timer_at, bound, starting)
  };
  // A message of the leader's stream that arrived ahead of its turn, kept as it came.
  struct Early {
    Message msg;
    void digest_into(Digest& d) const { d.add(msg.digest()); }
  };
  // Why a follower shuts down (its reason for the log line once it goes LOOKING).
  enum class FollowerExit : std::uint8_t {
    none,
    leader_closed,
    leader_silent,
    epoch_older,
    connect_failed
  };
  struct FollowerState {
    NodeId leader = k_no_node;
    std::int64_t conn = 0;
    std::int64_t next_seq = 0;
    std::map<std::int64_t, Early> early;  // by sequence number
    bool synced = false;
    bool up_to_date = false;
    TimeNs last_heard = 0;
    std::set<std::int64_t> touched;
    // Shutting down (zk_follower_shutdown_time) before it goes LOOKING: none while it follows.
    FollowerExit exiting = FollowerExit::none;
    // Connects to the leader refused so far (a reset or no process to answer): the fifth makes
    // the follower give up, as Learner.connectToLeader does (follower_refused).
    std::int64_t refused = 0;
    STAMPEDE_FIELDS(leader, conn, next_seq, early, synced, up_to_date, last_heard, touched, exiting,
                    refused)
  };
  struct ClientConn {
    std::int64_t conn = 0;
    std::int64_t session = 0;
    bool established = false;
    // The connection's requests from its oldest write not yet applied here on, in arrival
    // order: a read waits behind the session's earlier writes (zk_session_order).
    std::deque<ClientRequest> in_order;
    STAMPEDE_FIELDS(conn, session, established, in_order)
  };

  // What survives a crash: the disk, and three values the model has always kept across one.
  struct Durable {
    Disk disk;
    // Bumped on every state change (and crash); stale timers carry an older one. It only grows,
    // so a timer from before a crash can never pass for a new one.
    std::uint32_t gen = 0;
    // The last vote proposed, and how often it changed: counts of the model (tests compare
    // them), which a restart does not reset.
    Vote proposal;
    std::int64_t vote_changes = 0;
    // Log entries the last power loss took (zk_force_sync_no), reported at the next start.
    std::int64_t lost_at_power_loss = 0;
    STAMPEDE_FIELDS(disk, gen, proposal, vote_changes, lost_at_power_loss)
  };
  // What a crash loses.
  struct Volatile {
    ServerState state = ServerState::looking;
    int leader_sid = 0;
    // Rebuilt from the disk at start. Shared between copies of the server (the explorer's
    // snapshots) until one of them applies a transaction (sim/core/cow.hpp).
    Cow<DataTree> tree;
    // Election.
    std::int64_t logical_clock = 0;
    Vote end_vote;
    std::int64_t end_election_epoch = 0;
    std::map<int, VoteRec> recvset, outofelection;
    DurationNs not_timeout_ns = 0;
    bool finalizing = false;
    Untracked<TimerId> poll_timer;  // engine-assigned
    // QuorumCnxManager's per-peer send queue holds one message (SEND_CAPACITY = 1): a newer
    // notification replaces one not yet written. Modelled as at most one notification per peer
    // per k_vote_send_gap_ns, the newest vote going out when the gap ends.
    std::vector<TimeNs> vote_send_ok;  // index sid-1
    std::vector<std::uint8_t> vote_queued;
    bool flush_armed = false;
    // Roles.
    LeaderState lead;
    FollowerState follow;
    // Clients.
    std::map<NodeId, ClientConn> clients;
    std::map<std::string, std::set<NodeId>> data_watches, child_watches;
    std::int64_t next_session = 0;
    STAMPEDE_FIELDS(state, leader_sid, tree, logical_clock, end_vote, end_election_epoch, recvset,
                    outofelection, not_timeout_ns, finalizing, poll_timer, vote_send_ok,
                    vote_queued, flush_armed, lead, follow, clients, data_watches, child_watches,
                    next_session)
  };
  // Read once at start (the same on every start): not state.
  struct Config {
    std::vector<NodeId> peers;  // index sid-1
    DurationNs tick_ns = 0;
    std::int64_t init_limit = 0;  // ticks
    std::int64_t sync_limit = 0;  // ticks
    std::int64_t min_session_timeout = 0;  // ticks
    std::int64_t max_session_timeout = 0;  // ticks
    DurationNs finalize_wait_ns = 0;
    DurationNs max_notification_interval_ns = 0;
    // Processing times (register.cpp): the exit teardown the engine applies to a crash, and the
    // follower's shutdown, the leader's bind, the learner's sync and the leader's startup.
    DurationNs exit_teardown_ns = 0;
    DurationNs follower_shutdown_ns = 0;
    DurationNs follower_shutdown_spread_ns = 0;
    DurationNs leader_bind_ns = 0;
    DurationNs learner_sync_ns = 0;
    DurationNs leader_startup_ns = 0;
    bool correct_order = true;
    bool session_order = true;
    bool learner_connect_tries = true;
    PageCache page_cache;  // force_sync, and when the kernel writes what was not synced
    SeriesId m_elections = 0, m_commits = 0;
  };

  // Common (zk_server.cpp).
  template <class T>
  std::uint64_t tag() const {
    return timer_tag::encode(T{durable_.gen});
  }
  void read_config(Ctx& ctx);
  void set_state(Ctx& ctx, ServerState s);
  int quorum() const { return ensemble_ / 2 + 1; }
  int sid_of(NodeId node) const;
  Vote self_vote() const {
    return Vote{sid_, durable_.disk.last_zxid(), durable_.disk.current_epoch};
  }
  void commit_to(Ctx& ctx, std::size_t count);
  void apply_entry(Ctx& ctx, const LoggedTxn& e);
  void on_leader_applied(Ctx& ctx, const LoggedTxn& e, std::int64_t closed_timeout_ns);
  void submit(Ctx& ctx, Txn txn);
  void shutdown_to_looking(Ctx& ctx, std::string_view why);
  void on(Ctx& ctx, const PollTimer& t);
  void on(Ctx& ctx, const FinalizeTimer& t);
  void on(Ctx& ctx, const LeaderTickTimer& t);
  void on(Ctx& ctx, const DeadlineTimer& t);
  void on(Ctx& ctx, const FollowerTickTimer& t);
  void on(Ctx& ctx, const ConnectTimer& t);
  void on(Ctx& ctx, const ExpiryTimer& t);
  void on(Ctx& ctx, const LeaderLoopTimer& t);
  void on(Ctx& ctx, const FollowerShutdownTimer& t);
  void on(Ctx& ctx, const LeaderBindTimer& t);
  void on(Ctx& ctx, const LearnerSyncTimer& t);
  void on(Ctx& ctx, const LeaderStartTimer& t);
  std::optional<std::int64_t> probe_log(std::string_view key, std::string_view arg) const;

  // Election (zk_election.cpp).
  void start_looking(Ctx& ctx);
  void send_notifications(Ctx& ctx);
  void send_vote_to(Ctx& ctx, NodeId to);
  void write_vote(Ctx& ctx, int sid);
  void flush_votes(Ctx& ctx);
  void on(Ctx& ctx, NodeId from, const Notification& n);
  void on_looking_vote(Ctx& ctx, int sender, const VoteBody& n);
  void on_settled_vote(Ctx& ctx, int sender, const VoteBody& n);
  void update_proposal(const Vote& v);
  bool term_predicate(const std::map<int, VoteRec>& set, const Vote& v, std::int64_t ee) const;
  bool check_leader(const std::map<int, VoteRec>& set, std::int64_t leader, std::int64_t ee) const;
  void arm_poll(Ctx& ctx);
  void decide(Ctx& ctx, const Vote& v, std::int64_t ee);

  // Leader (zk_leader.cpp).
  void become_leader(Ctx& ctx);
  void on_learner_message(Ctx& ctx, int sid, NodeId from, const Message& m);
  void on(Ctx& ctx, int sid, NodeId from, const FollowerInfo& m);
  void refuse_learner(Ctx& ctx, int sid, NodeId from, std::int64_t conn);
  void on(Ctx& ctx, int sid, Learner& l, const AckEpoch& m);
  void on(Ctx& ctx, int sid, Learner& l, const AckNewLeader& m);
  void on(Ctx& ctx, int sid, Learner& l, const Ack& m);
  void on(Ctx& ctx, int sid, Learner& l, const PingReply& m);
  void on(Ctx& ctx, int sid, Learner& l, const Forward& m);
  void on(Ctx& ctx, int sid, Learner& l, const Revalidate& m);
  void decide_epoch(Ctx& ctx);
  void arm_deadline(Ctx& ctx);
  void on_epoch_quorum(Ctx& ctx);
  void sync_learner(Ctx& ctx, int sid);
  void start_up(Ctx& ctx);
  void become_ready(Ctx& ctx);
  template <class M>
  void send_to_learner(Ctx& ctx, int sid, M m);
  void propose(Ctx& ctx, Txn txn);
  void try_commit(Ctx& ctx);
  void leader_tick(Ctx& ctx);
  void leader_loop(Ctx& ctx);
  void drop_silent_learners(Ctx& ctx);
  int count_synced_learners(Ctx& ctx);
  void learner_closed(Ctx& ctx, NodeId peer);
  void expire_sessions(Ctx& ctx);
  void arm_expiry(Ctx& ctx, TimeNs at);
  void close_role_connections(Ctx& ctx);
  void touch(Ctx& ctx, std::int64_t session);

  // Follower (zk_follower.cpp).
  void become_follower(Ctx& ctx, int leader);
  void on_leader_stream(Ctx& ctx, std::int64_t conn, std::int64_t seq, const Message& m);
  void process_leader_message(Ctx& ctx, const Message& m);
  void on(Ctx& ctx, const LeaderInfo& m);
  void on(Ctx& ctx, const NewLeader& m);
  void on(Ctx& ctx, const UpToDate& m);
  void on(Ctx& ctx, const Proposal& m);
  void on(Ctx& ctx, const Commit& m);
  void on(Ctx& ctx, const Ping& m);
  void on(Ctx& ctx, const RevalidateReply& m);
  void follower_tick(Ctx& ctx);
  void follower_connect(Ctx& ctx);
  void follower_shutdown(Ctx& ctx, FollowerExit why);
  void follower_refused(Ctx& ctx);
  void ack_new_leader(Ctx& ctx);

  // Clients (zk_clients.cpp).
  void on_client_message(Ctx& ctx, NodeId from, const Message& m);
  void on(Ctx& ctx, NodeId from, const ProbeWrite& m);
  void on(Ctx& ctx, NodeId from, const ProbeCommitted& m);
  void on(Ctx& ctx, NodeId from, const ClientConnect& m);
  void on(Ctx& ctx, NodeId from, const ClientPing& m);
  void on(Ctx& ctx, NodeId from, const ClientRequest& m);
  void serve_read(Ctx& ctx, NodeId from, const ClientRequest& m);
  void submit_write(Ctx& ctx, NodeId from, const ClientRequest& m, std::int64_t session);
  void release_reads(Ctx& ctx, NodeId from, ClientConn& c, std::int64_t xid);
  bool refuse_unless_serving(Ctx& ctx, NodeId from, std::int64_t conn);
  ClientConn* established_conn(Ctx& ctx, NodeId from, std::int64_t conn);
  void create_session(Ctx& ctx, NodeId from, const ClientConnect& m);
  template <class M>
  void reply_client(Ctx& ctx, NodeId client, M m);
  void close_all_clients(Ctx& ctx);
  void answer_origin(Ctx& ctx, const Txn& t, const ApplyResult& r);
  void fire_watches(Ctx& ctx, const ApplyResult& r);
  void touch_local(Ctx& ctx, std::int64_t session);

  // Given at construction.
  int sid_;
  int ensemble_;
  Config cfg_;
  Durable durable_;
  Volatile vol_;
};

// Answers a client on its connection (conn 0 when it has none here).
template <class M>
void ZkServer::reply_client(Ctx& ctx, NodeId client, M m) {
  auto it = vol_.clients.find(client);
  m.conn = it == vol_.clients.end() ? 0 : it->second.conn;
  ctx.send(client, wire::encode(m));
}

}  // namespace stampede::zk
