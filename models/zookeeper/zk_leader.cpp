// The leader side of Zab: discovery (a quorum agrees on a new epoch), synchronisation (followers
// take the leader's log), broadcast (propose, collect acks, commit), and the tick that drops
// silent followers, and session expiry.
#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

void ZkServer::become_leader(Ctx& ctx) {
  set_state(ctx, ServerState::leading);
  vol_.leader_sid = sid_;
  vol_.lead = LeaderState{};
  vol_.lead.info_from.insert(sid_);
  vol_.lead.max_accepted = durable_.disk.accepted_epoch;
  arm_deadline(ctx);
  ctx.set_timer(cfg_.tick_ns / 2, tag<LeaderTickTimer>());
  if (cfg_.leader_bind_ns == 0) {
    vol_.lead.bound = true;
  } else {
    ctx.set_timer(cfg_.leader_bind_ns, tag<LeaderBindTimer>());
  }
  if (static_cast<int>(vol_.lead.info_from.size()) >= quorum()) decide_epoch(ctx);
}

// QuorumPeer.run's LEADING case builds the Leader, whose constructor binds the quorum port
// (QuorumPeer.java:1548-1552, Leader.java:289-322 at release-3.8.0-1), zk_leader_bind_time
// after the election ended (a processing time, measured: register.cpp). A follower's election
// ends one vote's hop earlier, and its first connect comes before the bind: it is refused, and
// Learner.connectToLeader tries again after leaderConnectDelayDuringRetryMs (the follower's
// ConnectTimer, zk_follower.cpp).
void ZkServer::on(Ctx& ctx, const LeaderBindTimer& t) {
  (void)ctx;
  (void)t;
  if (vol_.state == ServerState::leading) vol_.lead.bound = true;
}

void ZkServer::arm_deadline(Ctx& ctx) {
  DurationNs limit = cfg_.init_limit * cfg_.tick_ns;
  vol_.lead.deadline_at = ctx.now() + limit;
  ctx.set_timer(limit, tag<DeadlineTimer>());
}

// Sends m on the learner's connection, next in its sequence.
template <class M>
void ZkServer::send_to_learner(Ctx& ctx, int sid, M m) {
  Learner& l = vol_.lead.learners.at(sid);
  m.conn = l.conn;
  m.seq = l.seq_out++;
  ctx.send(l.node, wire::encode(m));
}

void ZkServer::decide_epoch(Ctx& ctx) {
  LeaderState& lead = vol_.lead;
  lead.new_epoch = lead.max_accepted + 1;
  durable_.disk.accepted_epoch = lead.new_epoch;
  lead.epoch_acks.insert(sid_);
  for (auto& [sid, l] : lead.learners) send_to_learner(ctx, sid, LeaderInfo{0, 0, lead.new_epoch});
  arm_deadline(ctx);
  if (static_cast<int>(lead.epoch_acks.size()) >= quorum()) on_epoch_quorum(ctx);
}

void ZkServer::on_epoch_quorum(Ctx& ctx) {
  vol_.lead.established = true;
  vol_.lead.new_leader_acks.insert(sid_);
  for (auto& [sid, l] : vol_.lead.learners)
    if (l.phase == Phase::epoch_acked) sync_learner(ctx, sid);
  arm_deadline(ctx);
  if (static_cast<int>(vol_.lead.new_leader_acks.size()) >= quorum()) start_up(ctx);
}

void ZkServer::sync_learner(Ctx& ctx, int sid) {
  const Disk& disk = durable_.disk;
  Learner& l = vol_.lead.learners.at(sid);
  l.phase = Phase::syncing;
  l.synced_len = disk.size();
  auto body = std::make_shared<SyncBody>();
  body->history = std::make_shared<const History>(disk.history());
  body->committed = disk.committed;
  body->history_digest = disk.prefix_digest(disk.size());
  send_to_learner(ctx, sid, NewLeader{0, 0, vol_.lead.new_epoch, std::move(body)});
}

// A quorum acked NEWLEADER: Leader.lead leaves waitForNewLeaderAck and calls startZkServer,
// which logs "Have quorum of supporters" and starts the LeaderZooKeeperServer's request
// processors (zk.startup()); the peer is "leading - broadcast" only after that
// (Leader.java:667-716 and 1516-1550 at release-3.8.0-1). That startup takes
// zk_leader_startup_time (a processing time, measured: register.cpp).
void ZkServer::start_up(Ctx& ctx) {
  if (vol_.lead.starting || vol_.lead.ready) return;
  vol_.lead.starting = true;
  ctx.log(LogLevel::debug, fmt::format("Have quorum of supporters, sids: {}; starting up",
                                       vol_.lead.new_leader_acks.size()));
  if (cfg_.leader_startup_ns == 0) return become_ready(ctx);
  ctx.set_timer(cfg_.leader_startup_ns, tag<LeaderStartTimer>());
}

void ZkServer::on(Ctx& ctx, const LeaderStartTimer& t) {
  (void)t;
  if (vol_.state == ServerState::leading && vol_.lead.starting && !vol_.lead.ready)
    become_ready(ctx);
}

void ZkServer::become_ready(Ctx& ctx) {
  vol_.lead.ready = true;
  ctx.set_timer(cfg_.tick_ns / 2, tag<LeaderLoopTimer>());
  durable_.disk.current_epoch = vol_.lead.new_epoch;
  // The new leader's log is the new epoch's starting history: all of it commits now.
  commit_to(ctx, durable_.disk.size());
  for (auto& [sid, l] : vol_.lead.learners)
    if (l.phase == Phase::synced)
      send_to_learner(ctx, sid, UpToDate{0, 0, durable_.disk.committed});
  for (const auto& [s, timeout] : vol_.tree->sessions()) touch(ctx, s);
  ctx.count(cfg_.m_elections, 1);
  ctx.signal(k_signal_leader_elected);
  ctx.event(LogLevel::notable,
            Event("zookeeper.leader_elected")
                .with("server", static_cast<std::int64_t>(sid_))
                .with("epoch", vol_.lead.new_epoch),
            fmt::format("LEADING: zookeeper-{} leads epoch {}", sid_, vol_.lead.new_epoch));
}

void ZkServer::on_learner_message(Ctx& ctx, int sid, NodeId from, const Message& m) {
  if (wire::dispatch<FollowerInfo>(m, [&](const FollowerInfo& f) { on(ctx, sid, from, f); }))
    return;
  wire::dispatch<AckEpoch, AckNewLeader, Ack, PingReply, Forward, Revalidate>(
      m, [&](const auto& x) {
        auto it = vol_.lead.learners.find(sid);
        if (it == vol_.lead.learners.end() || it->second.conn != x.conn) return;  // an old conn
        it->second.last_heard = ctx.now();
        it->second.ack_deadline_tick = vol_.lead.tick + cfg_.sync_limit;
        on(ctx, sid, it->second, x);
      });
}

void ZkServer::on(Ctx& ctx, int sid, NodeId from, const FollowerInfo& m) {
  LeaderState& lead = vol_.lead;
  // The connect found no socket bound: refused; the learner tries again (LeaderBindTimer).
  if (!lead.bound) return refuse_learner(ctx, sid, from, m.conn);
  auto known = lead.learners.find(sid);
  if (known != lead.learners.end() && known->second.conn == m.conn) return;  // a retry
  Learner l;
  l.node = from;
  l.conn = m.conn;
  l.accepted_epoch = m.accepted_epoch;
  l.last_heard = ctx.now();
  l.ack_deadline_tick = lead.tick + cfg_.init_limit + cfg_.sync_limit;
  lead.learners[sid] = l;
  if (lead.new_epoch < 0) {
    lead.info_from.insert(sid);
    lead.max_accepted = std::max(lead.max_accepted, m.accepted_epoch);
    if (static_cast<int>(lead.info_from.size()) >= quorum()) decide_epoch(ctx);
  } else {
    send_to_learner(ctx, sid, LeaderInfo{0, 0, lead.new_epoch});
  }
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const AckEpoch& m) {
  if (l.phase != Phase::info) return;
  l.phase = Phase::epoch_acked;
  const Disk& disk = durable_.disk;
  std::int64_t cur = m.current_epoch, zxid = m.last_zxid;
  if (cur != -1 &&
      (cur > disk.current_epoch || (cur == disk.current_epoch && zxid > disk.last_zxid()))) {
    return shutdown_to_looking(ctx, fmt::format("follower {} is ahead of the leader", sid));
  }
  if (vol_.lead.established) return sync_learner(ctx, sid);
  if (cur != -1) vol_.lead.epoch_acks.insert(sid);
  if (static_cast<int>(vol_.lead.epoch_acks.size()) >= quorum()) on_epoch_quorum(ctx);
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const AckNewLeader& m) {
  (void)m;
  if (l.phase != Phase::syncing) return;
  l.phase = Phase::synced;
  if (!vol_.lead.ready) {
    vol_.lead.new_leader_acks.insert(sid);
    if (static_cast<int>(vol_.lead.new_leader_acks.size()) >= quorum()) start_up(ctx);
    return;
  }
  // A follower joining a running epoch: its sync covered every proposal logged so far.
  std::int64_t synced_zxid =
      l.synced_len == 0 ? 0 : durable_.disk.history()[l.synced_len - 1].zxid;
  for (auto& [zxid, acks] : vol_.lead.acks)
    if (zxid <= synced_zxid) acks.insert(sid);
  send_to_learner(ctx, sid, UpToDate{0, 0, durable_.disk.committed});
  try_commit(ctx);
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const Ack& m) {
  if (l.phase != Phase::syncing && l.phase != Phase::synced) return;
  auto a = vol_.lead.acks.find(m.zxid);
  if (a != vol_.lead.acks.end()) a->second.insert(sid);
  try_commit(ctx);
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const PingReply& m) {
  (void)sid;
  (void)l;
  if (vol_.lead.ready)
    for (std::int64_t s : m.body->sessions) touch(ctx, s);
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const Forward& m) {
  (void)sid;
  if (vol_.lead.ready && l.phase == Phase::synced) propose(ctx, *m.body->entry.txn);
}

void ZkServer::on(Ctx& ctx, int sid, Learner& l, const Revalidate& m) {
  (void)l;
  std::int64_t s = m.session;
  auto body = std::make_shared<RevalidateBody>();
  body->session = s;
  body->client = m.client;
  body->valid = vol_.lead.ready && vol_.tree->session_live(s) && vol_.lead.closing.count(s) == 0;
  body->timeout_ns = vol_.tree->session_timeout(s);
  if (body->valid) touch(ctx, s);
  send_to_learner(ctx, sid, RevalidateReply{0, 0, s, std::move(body)});
}

void ZkServer::propose(Ctx& ctx, Txn txn) {
  if (!vol_.lead.ready) return;
  LoggedTxn e{make_zxid(vol_.lead.new_epoch, ++vol_.lead.counter),
              std::make_shared<const Txn>(txn)};
  durable_.disk.append(e, ctx.now(), cfg_.page_cache);
  vol_.lead.acks[e.zxid].insert(sid_);
  for (auto& [sid, l] : vol_.lead.learners) {
    if (l.phase != Phase::syncing && l.phase != Phase::synced) continue;
    auto body = std::make_shared<TxnBody>();
    body->entry = e;
    send_to_learner(ctx, sid, Proposal{0, 0, e.zxid, std::move(body)});
  }
  try_commit(ctx);
}

void ZkServer::try_commit(Ctx& ctx) {
  const Disk& disk = durable_.disk;
  while (static_cast<std::size_t>(disk.committed) < disk.size()) {
    std::int64_t zxid = disk.history()[disk.committed].zxid;
    auto a = vol_.lead.acks.find(zxid);
    if (a == vol_.lead.acks.end() || static_cast<int>(a->second.size()) < quorum()) return;
    commit_to(ctx, disk.committed + 1);
    for (auto& [sid, l] : vol_.lead.learners)
      if (l.phase == Phase::syncing || l.phase == Phase::synced)
        send_to_learner(ctx, sid, Commit{0, 0, zxid});
  }
}

void ZkServer::touch(Ctx& ctx, std::int64_t session) {
  if (!vol_.tree->session_live(session)) return;
  // ZooKeeper's SessionTracker buckets expiry times by tickTime.
  DurationNs tick = cfg_.tick_ns;
  TimeNs at = ctx.now() + vol_.tree->session_timeout(session);
  at = (at / tick + 1) * tick;
  TimeNs& e = vol_.lead.session_expiry[session];
  e = std::max(e, at);
  arm_expiry(ctx, e);
}

// Until the leader is ready (discovery and synchronisation), every half tick: ping the learners,
// and every tick drop those silent for initLimit ticks.
void ZkServer::leader_tick(Ctx& ctx) {
  LeaderState& lead = vol_.lead;
  if (lead.ready) return;  // leader_loop took over
  ctx.set_timer(cfg_.tick_ns / 2, tag<LeaderTickTimer>());
  ++lead.half_ticks;
  for (auto& [sid, l] : lead.learners) send_to_learner(ctx, sid, Ping{0, 0});
  if (lead.half_ticks % 2 == 0) drop_silent_learners(ctx);
}

// Once ready, Leader.lead's loop (Leader.java:721-792 at release-3.8.0-1), which starts when a
// quorum has synced: every half tick; on every other one the tick advances and the leader counts
// its synced learners (LearnerHandler.synced: alive, and heard from by tickOfNextAckDeadline,
// LearnerHandler.java:1112-1113) and steps down without a quorum; then it pings them. The tick
// counts the leader's own half ticks, not time: a leader that was paused and resumes does not
// find its learners late, only those whose connections closed meanwhile gone, and steps down at
// its next counting half tick, 1 s or 2 s after it resumed depending on where the pause fell.
void ZkServer::leader_loop(Ctx& ctx) {
  ctx.set_timer(cfg_.tick_ns / 2, tag<LeaderLoopTimer>());
  LeaderState& lead = vol_.lead;
  bool skip = lead.tick_skip;
  lead.tick_skip = !skip;
  if (!skip) {
    ++lead.tick;
    int synced = count_synced_learners(ctx);
    if (synced < quorum()) {
      return shutdown_to_looking(
          ctx, fmt::format("Not sufficient followers synced, only synced with {} of {}", synced,
                           ensemble_));
    }
  }
  for (auto& [sid, l] : lead.learners) send_to_learner(ctx, sid, Ping{0, 0});
}

// Drops learners that stayed silent for initLimit ticks before the leader is ready.
void ZkServer::drop_silent_learners(Ctx& ctx) {
  auto& learners = vol_.lead.learners;
  for (auto it = learners.begin(); it != learners.end();) {
    if (ctx.now() - it->second.last_heard > cfg_.init_limit * cfg_.tick_ns) {
      ctx.event(LogLevel::info,
                Event("zookeeper.follower_dropped")
                    .with("follower", static_cast<std::int64_t>(it->first)),
                fmt::format("dropping follower zookeeper-{}: silent", it->first));
      ctx.close_connection(it->second.node);  // LearnerHandler.shutdown closes its socket
      it = learners.erase(it);
    } else {
      ++it;
    }
  }
}

// The leader itself and every learner heard from by its deadline. A learner past it is dropped:
// its LearnerHandler's read times out after syncLimit ticks (syncTimeout, Leader.java:1673) and
// the handler ends.
int ZkServer::count_synced_learners(Ctx& ctx) {
  int synced = 1;
  auto& learners = vol_.lead.learners;
  for (auto it = learners.begin(); it != learners.end();) {
    if (vol_.lead.tick <= it->second.ack_deadline_tick) {
      ++synced;
      ++it;
      continue;
    }
    ctx.event(LogLevel::info,
              Event("zookeeper.follower_dropped")
                  .with("follower", static_cast<std::int64_t>(it->first)),
              fmt::format("dropping follower zookeeper-{}: silent for syncLimit ticks",
                          it->first));
    ctx.close_connection(it->second.node);  // LearnerHandler.shutdown closes its socket
    it = learners.erase(it);
  }
  return synced;
}

// A learner's connection closed: its LearnerHandler reads EOF, shuts down and is removed
// (LearnerHandler.run's catch and finally at release-3.8.0-1); the leader does not step down
// until its loop counts too few synced learners.
void ZkServer::learner_closed(Ctx& ctx, NodeId peer) {
  int sid = sid_of(peer);
  auto it = vol_.lead.learners.find(sid);
  if (sid == 0 || it == vol_.lead.learners.end()) return;
  ctx.event(LogLevel::info,
            Event("zookeeper.follower_dropped").with("follower", static_cast<std::int64_t>(sid)),
            fmt::format("dropping follower zookeeper-{}: its connection closed", sid));
  vol_.lead.learners.erase(it);
}

// SessionTrackerImpl.run sleeps until the ExpiryQueue's next deadline and expires the sessions
// of that bucket then (SessionTrackerImpl.java:161-170, ExpiryQueue.java:123-150 at
// release-3.8.0-1), not on the leader's tick.
void ZkServer::expire_sessions(Ctx& ctx) {
  std::vector<std::int64_t> expired;
  TimeNs next = 0;
  for (const auto& [s, at] : vol_.lead.session_expiry) {
    if (vol_.lead.closing.count(s) != 0) continue;
    if (at <= ctx.now()) {
      expired.push_back(s);
    } else if (next == 0 || at < next) {
      next = at;
    }
  }
  for (std::int64_t s : expired) {
    vol_.lead.closing.insert(s);
    Txn t;
    t.op = TxnOp::close_session;
    t.session = s;
    t.expired = true;
    t.expired_at_ns = ctx.now();
    propose(ctx, t);
  }
  if (next != 0) arm_expiry(ctx, next);
}

// Sets the expiry timer for `at` unless one fires earlier; a timer that finds no session due
// sets the next.
void ZkServer::arm_expiry(Ctx& ctx, TimeNs at) {
  TimeNs& pending = vol_.lead.expiry_timer_at;
  if (pending != 0 && pending <= at) return;
  pending = at;
  ctx.set_timer(at - ctx.now(), tag<ExpiryTimer>());
}

// Leaving a role closes its quorum connections: a follower's to its leader (Learner.shutdown
// closes the socket), a leader's to each learner (LearnerHandler.shutdown), so that the other
// side reads EOF at once.
void ZkServer::close_role_connections(Ctx& ctx) {
  if (vol_.state == ServerState::following && vol_.follow.leader != k_no_node)
    ctx.close_connection(vol_.follow.leader);
  if (vol_.state == ServerState::leading)
    for (const auto& [sid, l] : vol_.lead.learners) ctx.close_connection(l.node);
}

}  // namespace stampede::zk
