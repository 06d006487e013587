// The leader side of Zab: discovery (a quorum agrees on a new epoch), synchronisation (followers
// take the leader's log), broadcast (propose, collect acks, commit), and the tick that drops
// silent followers and expires sessions.
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
  if (static_cast<int>(vol_.lead.info_from.size()) >= quorum()) decide_epoch(ctx);
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
  if (static_cast<int>(vol_.lead.new_leader_acks.size()) >= quorum()) become_ready(ctx);
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

void ZkServer::become_ready(Ctx& ctx) {
  vol_.lead.ready = true;
  durable_.disk.current_epoch = vol_.lead.new_epoch;
  // The new leader's log is the new epoch's starting history: all of it commits now.
  commit_to(ctx, durable_.disk.size());
  for (auto& [sid, l] : vol_.lead.learners)
    if (l.phase == Phase::synced)
      send_to_learner(ctx, sid, UpToDate{0, 0, durable_.disk.committed});
  for (const auto& [s, timeout] : vol_.tree.sessions()) touch(ctx, s);
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
        on(ctx, sid, it->second, x);
      });
}

void ZkServer::on(Ctx& ctx, int sid, NodeId from, const FollowerInfo& m) {
  LeaderState& lead = vol_.lead;
  auto known = lead.learners.find(sid);
  if (known != lead.learners.end() && known->second.conn == m.conn) return;  // a retry
  Learner l;
  l.node = from;
  l.conn = m.conn;
  l.accepted_epoch = m.accepted_epoch;
  l.last_heard = ctx.now();
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
    if (static_cast<int>(vol_.lead.new_leader_acks.size()) >= quorum()) become_ready(ctx);
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
  body->valid =
      vol_.lead.ready && vol_.tree.session_live(s) && vol_.lead.closing.count(s) == 0;
  body->timeout_ns = vol_.tree.session_timeout(s);
  if (body->valid) touch(ctx, s);
  send_to_learner(ctx, sid, RevalidateReply{0, 0, s, std::move(body)});
}

void ZkServer::propose(Ctx& ctx, Txn txn) {
  if (!vol_.lead.ready) return;
  LoggedTxn e{make_zxid(vol_.lead.new_epoch, ++vol_.lead.counter),
              std::make_shared<const Txn>(txn)};
  durable_.disk.append(e);
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
  if (!vol_.tree.session_live(session)) return;
  // ZooKeeper's SessionTracker buckets expiry times by tickTime.
  DurationNs tick = cfg_.tick_ns;
  TimeNs at = ctx.now() + vol_.tree.session_timeout(session);
  at = (at / tick + 1) * tick;
  TimeNs& e = vol_.lead.session_expiry[session];
  e = std::max(e, at);
}

void ZkServer::leader_tick(Ctx& ctx) {
  ctx.set_timer(cfg_.tick_ns / 2, tag<LeaderTickTimer>());
  ++vol_.lead.half_ticks;
  for (auto& [sid, l] : vol_.lead.learners) send_to_learner(ctx, sid, Ping{0, 0});
  if (vol_.lead.half_ticks % 2 != 0) return;
  drop_silent_learners(ctx);
  if (!vol_.lead.ready) return;
  int synced = 1;
  for (const auto& [sid, l] : vol_.lead.learners)
    if (l.phase == Phase::synced) ++synced;
  if (synced < quorum()) {
    return shutdown_to_looking(
        ctx, fmt::format("Not sufficient followers synced, only synced with {} of {}", synced,
                         ensemble_));
  }
  expire_sessions(ctx);
}

// Drops learners that stayed silent too long (syncLimit once synced, initLimit before).
void ZkServer::drop_silent_learners(Ctx& ctx) {
  auto& learners = vol_.lead.learners;
  for (auto it = learners.begin(); it != learners.end();) {
    std::int64_t ticks = it->second.phase == Phase::synced ? cfg_.sync_limit : cfg_.init_limit;
    if (ctx.now() - it->second.last_heard > ticks * cfg_.tick_ns) {
      ctx.event(LogLevel::info,
                Event("zookeeper.follower_dropped")
                    .with("follower", static_cast<std::int64_t>(it->first)),
                fmt::format("dropping follower zookeeper-{}: silent", it->first));
      it = learners.erase(it);
    } else {
      ++it;
    }
  }
}

void ZkServer::expire_sessions(Ctx& ctx) {
  std::vector<std::int64_t> expired;
  for (const auto& [s, at] : vol_.lead.session_expiry)
    if (at <= ctx.now() && vol_.lead.closing.count(s) == 0) expired.push_back(s);
  for (std::int64_t s : expired) {
    vol_.lead.closing.insert(s);
    Txn t;
    t.op = TxnOp::close_session;
    t.session = s;
    t.expired = true;
    t.expired_at_ns = ctx.now();
    propose(ctx, t);
  }
}

}  // namespace stampede::zk
