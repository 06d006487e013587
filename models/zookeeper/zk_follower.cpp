// The follower side of Zab. The leader's messages form one ordered stream per connection (TCP in
// ZooKeeper): the network may reorder same-instant deliveries, so messages that arrive ahead of
// their turn wait for the ones before them.
#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

void ZkServer::become_follower(Ctx& ctx, int leader) {
  set_state(ctx, ServerState::following);
  vol_.leader_sid = leader;
  vol_.follow = FollowerState{};
  vol_.follow.leader = cfg_.peers[leader - 1];
  vol_.follow.conn = ctx.random(1, INT32_MAX);
  vol_.follow.last_heard = ctx.now();
  ctx.set_timer(cfg_.tick_ns, tag<FollowerTickTimer>());
  follower_connect(ctx);
}

// Learner.leaderConnectDelayDuringRetryMs, zookeeper release-3.8.0-1,
// zookeeper-server/src/main/java/org/apache/zookeeper/server/quorum/Learner.java:118 (the
// property zookeeper.leaderConnectDelayDuringRetryMs, default 100): connectToLeader sleeps this
// long between tries (line 457), bounded by initLimit (follower_tick below).
static constexpr DurationNs k_leader_connect_retry_ns = 100 * k_ms;

// LeaderConnector.connectToLeader, Learner.java:413-446 at release-3.8.0-1: `tries < 5`, and the
// try with `tries >= 4` that fails throws, so the fifth refused connect ends the attempt.
static constexpr std::int64_t k_leader_connect_tries = 5;

// A connection event. On the leader, a learner's connection closed: learner_closed. On a
// follower, one from its leader. Closed: Follower.followLeader's read fails, it logs
// "Exception when following the leader", closes the socket and returns, and the peer shuts the
// follower down and goes LOOKING (Follower.java:127-129 at release-3.8.0-1; follower_shutdown).
// Refused (the leader's process is down): counted as a LearnerRefused is (follower_refused).
void ZkServer::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  if (vol_.state == ServerState::leading && event == ConnectionEvent::closed)
    return learner_closed(ctx, peer);
  if (vol_.state != ServerState::following || peer != vol_.follow.leader ||
      vol_.follow.exiting != FollowerExit::none)
    return;
  ctx.event(LogLevel::info,
            Event("zookeeper.leader_connection_event")
                .with("leader", vol_.leader_sid)
                .with("event", connection_event_name(event)),
            fmt::format("connection to leader zookeeper-{} {}", vol_.leader_sid,
                        connection_event_name(event)));
  if (event == ConnectionEvent::closed) return follower_shutdown(ctx, FollowerExit::leader_closed);
  follower_refused(ctx);
}

// A connect to the chosen leader was refused: no process listens there, or one that does not
// lead (or has not bound its quorum port yet) reset it (LearnerRefused). Learner.connectToLeader
// retries after leaderConnectDelayDuringRetryMs (the ConnectTimer of follower_connect, armed when
// the FOLLOWERINFO went out, so the model's tries start a round trip sooner than the real ones),
// and the fifth refusal throws (Learner.java:439-446 at release-3.8.0-1). With no socket,
// connectToLeader throws "Failed connect to" (line 348), Follower.followLeader catches it, logs
// "Exception when following the leader" and returns (Follower.java:127-129), and QuorumPeer.run
// shuts the follower down and goes LOOKING (follower_shutdown). With the mechanism
// zk_learner_connect_tries off the follower retries until initLimit ticks of silence
// (follower_tick), so a leader that never binds keeps it for 20 s.
void ZkServer::follower_refused(Ctx& ctx) {
  FollowerState& follow = vol_.follow;
  if (follow.next_seq > 0 || !follow.early.empty()) return;  // the leader has answered
  ++follow.refused;
  ctx.log(LogLevel::debug, fmt::format("connect to leader zookeeper-{} refused (refusal {})",
                                       vol_.leader_sid, follow.refused));
  if (cfg_.learner_connect_tries && follow.refused >= k_leader_connect_tries)
    follower_shutdown(ctx, FollowerExit::connect_failed);
}

// followLeader has returned: QuorumPeer.run calls follower.shutdown() and only then
// updateServerState(), which makes the peer LOOKING (QuorumPeer.java:1535-1545 at
// release-3.8.0-1). Learner.shutdown (Learner.java:859-875) first closes the client connections
// and the leader's socket, then shuts the FollowerZooKeeperServer's request processors down one
// by one, which takes zk_follower_shutdown_time plus a uniform draw of up to
// zk_follower_shutdown_spread (a processing time, measured: register.cpp). Meanwhile the peer
// still answers votes as a follower of the old leader, as the real one does: when the next
// leader's follower goes LOOKING first, its vote reaches the other follower while that one still
// shuts down, and the election waits for the 200 ms resend (the slow one of the two real paths).
void ZkServer::follower_shutdown(Ctx& ctx, FollowerExit why) {
  if (vol_.follow.exiting != FollowerExit::none) return;
  vol_.follow.exiting = why;
  vol_.follow.up_to_date = false;  // serves no client any more
  close_all_clients(ctx);
  close_role_connections(ctx);
  const DurationNs spread_ns = cfg_.follower_shutdown_spread_ns;
  const DurationNs took_ns =
      cfg_.follower_shutdown_ns + (spread_ns > 0 ? ctx.random(0, spread_ns) : 0);
  if (took_ns == 0) return on(ctx, FollowerShutdownTimer{durable_.gen});
  ctx.set_timer(took_ns, tag<FollowerShutdownTimer>());
}

void ZkServer::on(Ctx& ctx, const FollowerShutdownTimer& t) {
  (void)t;
  if (vol_.state != ServerState::following) return;
  const int leader = vol_.leader_sid;
  switch (vol_.follow.exiting) {
    case FollowerExit::none: return;
    case FollowerExit::leader_closed:
      return shutdown_to_looking(
          ctx, fmt::format("Exception when following the leader zookeeper-{}", leader));
    case FollowerExit::leader_silent:
      return shutdown_to_looking(ctx, fmt::format("no word from leader zookeeper-{}", leader));
    case FollowerExit::epoch_older:
      return shutdown_to_looking(ctx, "leader's epoch is older than our accepted epoch");
    case FollowerExit::connect_failed:
      return shutdown_to_looking(
          ctx, fmt::format("Failed connect to zookeeper-{}: {} connects refused", leader,
                           k_leader_connect_tries));
  }
}

void ZkServer::follower_connect(Ctx& ctx) {
  // The leader may not lead yet (it may still be finishing its election, and a real one refuses
  // the connection until it listens): like Learner.connectToLeader, try again after
  // leaderConnectDelayDuringRetryMs until it answers, or until the fifth refusal
  // (follower_refused) or initLimit ticks of silence (follower_tick) end the attempt.
  if (vol_.follow.next_seq > 0 || !vol_.follow.early.empty()) return;
  const Disk& disk = durable_.disk;
  ctx.send(vol_.follow.leader,
           wire::encode(FollowerInfo{vol_.follow.conn, disk.accepted_epoch, disk.last_zxid()}));
  ctx.set_timer(k_leader_connect_retry_ns, tag<ConnectTimer>());
}

// The follower's socket to its leader times out after syncLimit ticks without a packet (initLimit
// until it is up to date): Learner sets soTimeout to tickTime * initLimit when it connects and to
// tickTime * syncLimit once synced (Learner.java:475 and 758 at release-3.8.0-1). So the timer is
// re-armed for the moment that silence would end, not checked on a tick.
void ZkServer::follower_tick(Ctx& ctx) {
  std::int64_t ticks = vol_.follow.up_to_date ? cfg_.sync_limit : cfg_.init_limit;
  DurationNs limit_ns = ticks * cfg_.tick_ns;
  DurationNs silent_ns = ctx.now() - vol_.follow.last_heard;
  if (silent_ns >= limit_ns) return follower_shutdown(ctx, FollowerExit::leader_silent);
  ctx.set_timer(limit_ns - silent_ns, tag<FollowerTickTimer>());
}

void ZkServer::on_leader_stream(Ctx& ctx, std::int64_t conn, std::int64_t seq,
                                const Message& m) {
  FollowerState& follow = vol_.follow;
  if (conn != follow.conn) return;
  follow.last_heard = ctx.now();
  if (seq < follow.next_seq) return;
  if (seq > follow.next_seq) {
    follow.early.emplace(seq, Early{m});
    return;
  }
  process_leader_message(ctx, m);
  while (vol_.state == ServerState::following && vol_.follow.conn == conn) {
    ++vol_.follow.next_seq;
    auto it = vol_.follow.early.find(vol_.follow.next_seq);
    if (it == vol_.follow.early.end()) break;
    Message next = std::move(it->second.msg);
    vol_.follow.early.erase(it);
    process_leader_message(ctx, next);
  }
}

void ZkServer::process_leader_message(Ctx& ctx, const Message& m) {
  wire::dispatch<LeaderInfo, NewLeader, UpToDate, Proposal, Commit, Ping, RevalidateReply>(
      m, [&](const auto& x) { on(ctx, x); });
}

void ZkServer::on(Ctx& ctx, const LeaderInfo& m) {
  Disk& disk = durable_.disk;
  std::int64_t e = m.new_epoch;
  if (e > disk.accepted_epoch) {
    disk.accepted_epoch = e;
    ctx.send(vol_.follow.leader,
             wire::encode(AckEpoch{vol_.follow.conn, disk.current_epoch, disk.last_zxid()}));
  } else if (e == disk.accepted_epoch) {
    // Already acked this epoch to someone: give our log position, but no second ack.
    ctx.send(vol_.follow.leader, wire::encode(AckEpoch{vol_.follow.conn, -1, disk.last_zxid()}));
  } else {
    follower_shutdown(ctx, FollowerExit::epoch_older);
  }
}

void ZkServer::on(Ctx& ctx, const NewLeader& m) {
  Disk& disk = durable_.disk;
  std::size_t common = disk.assign(*m.body->history, ctx.now(), cfg_.page_cache);
  if (common < static_cast<std::size_t>(disk.committed)) {
    // Never happens under Zab: the invariant zk.committed_never_lost reports it.
    ctx.event(LogLevel::notable,
              Event("zookeeper.sync_truncated_committed").with("last_zxid", disk.last_zxid()),
              fmt::format("sync truncated committed txns below 0x{:x}", disk.last_zxid()));
    disk.committed = 0;
    vol_.tree = DataTree{};
  }
  disk.current_epoch = m.new_epoch;
  commit_to(ctx, static_cast<std::size_t>(m.body->committed));
  vol_.follow.synced = true;
  ctx.log(LogLevel::debug, fmt::format("Learner received NEWLEADER message (epoch {})",
                                       m.new_epoch));
  if (cfg_.learner_sync_ns == 0) return ack_new_leader(ctx);
  ctx.set_timer(cfg_.learner_sync_ns, tag<LearnerSyncTimer>());
}

// The learner acks NEWLEADER once the sync is on its disk (Learner.syncWithLeader: the snapshot
// of a SNAP, the logged proposals of a DIFF, then the ACK, Learner.java:735-769 at
// release-3.8.0-1). What the whole sync costs beyond the model's latencies, from the follower's
// connection to the leader's quorum of acks (the LearnerHandler's start, the epoch exchange, the
// SNAP or DIFF, the follower's snapshot), is zk_learner_sync_time, spent here.
void ZkServer::on(Ctx& ctx, const LearnerSyncTimer& t) {
  (void)t;
  if (vol_.state == ServerState::following && vol_.follow.exiting == FollowerExit::none &&
      vol_.follow.synced)
    ack_new_leader(ctx);
}

void ZkServer::ack_new_leader(Ctx& ctx) {
  const Disk& disk = durable_.disk;
  ctx.log(LogLevel::debug, fmt::format("ACK NEWLEADER to zookeeper-{}", vol_.leader_sid));
  ctx.send(vol_.follow.leader,
           wire::encode(AckNewLeader{vol_.follow.conn, disk.current_epoch, disk.last_zxid()}));
}

void ZkServer::on(Ctx& ctx, const UpToDate& m) {
  commit_to(ctx, static_cast<std::size_t>(m.committed));
  vol_.follow.up_to_date = true;
}

void ZkServer::on(Ctx& ctx, const Proposal& m) {
  if (!vol_.follow.synced) return;
  const LoggedTxn& entry = m.body->entry;
  if (entry.zxid > durable_.disk.last_zxid())
    durable_.disk.append(entry, ctx.now(), cfg_.page_cache);
  ctx.send(vol_.follow.leader, wire::encode(Ack{vol_.follow.conn, 0, entry.zxid}));
}

void ZkServer::on(Ctx& ctx, const Commit& m) {
  const Disk& disk = durable_.disk;
  std::size_t n = static_cast<std::size_t>(disk.committed);
  while (n < disk.size() && disk.history()[n].zxid <= m.zxid) ++n;
  commit_to(ctx, n);
}

void ZkServer::on(Ctx& ctx, const Ping& m) {
  (void)m;
  auto body = std::make_shared<SessionList>();
  body->sessions.assign(vol_.follow.touched.begin(), vol_.follow.touched.end());
  vol_.follow.touched.clear();
  ctx.send(vol_.follow.leader, wire::encode(PingReply{vol_.follow.conn, std::move(body)}));
}

void ZkServer::on(Ctx& ctx, const RevalidateReply& m) {
  const RevalidateBody& b = *m.body;
  auto it = vol_.clients.find(b.client);
  if (it == vol_.clients.end() || it->second.session != b.session || it->second.established)
    return;
  if (b.valid) {
    it->second.established = true;
    reply_client(ctx, b.client, ClientConnected{0, b.session, b.timeout_ns});
  } else {
    reply_client(ctx, b.client, ClientExpired{0, b.session});
    vol_.clients.erase(it);
  }
}

}  // namespace stampede::zk
