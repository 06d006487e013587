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
  leader_sid_ = sid_;
  lead_ = LeaderState{};
  lead_.info_from.insert(sid_);
  lead_.max_accepted = disk_.accepted_epoch;
  arm_deadline(ctx);
  ctx.set_timer(tick_ns(ctx) / 2, tag(t_leader_tick));
  if (static_cast<int>(lead_.info_from.size()) >= quorum()) decide_epoch(ctx);
}

void ZkServer::arm_deadline(Ctx& ctx) {
  DurationNs limit = ctx.timing(k_init_limit) * tick_ns(ctx);
  lead_.deadline_at = ctx.now() + limit;
  ctx.set_timer(limit, tag(t_leader_deadline));
}

void ZkServer::send_to_learner(Ctx& ctx, int sid, Message m) {
  Learner& l = lead_.learners.at(sid);
  m.a = l.conn;
  m.b = l.seq_out++;
  ctx.send(l.node, std::move(m));
}

void ZkServer::decide_epoch(Ctx& ctx) {
  lead_.new_epoch = lead_.max_accepted + 1;
  disk_.accepted_epoch = lead_.new_epoch;
  lead_.epoch_acks.insert(sid_);
  for (auto& [sid, l] : lead_.learners)
    send_to_learner(ctx, sid, Message{leader_info, 64, 0, 0, lead_.new_epoch, nullptr});
  arm_deadline(ctx);
  if (static_cast<int>(lead_.epoch_acks.size()) >= quorum()) on_epoch_quorum(ctx);
}

void ZkServer::on_epoch_quorum(Ctx& ctx) {
  lead_.established = true;
  lead_.new_leader_acks.insert(sid_);
  for (auto& [sid, l] : lead_.learners)
    if (l.phase == Phase::epoch_acked) sync_learner(ctx, sid);
  arm_deadline(ctx);
  if (static_cast<int>(lead_.new_leader_acks.size()) >= quorum()) become_ready(ctx);
}

void ZkServer::sync_learner(Ctx& ctx, int sid) {
  Learner& l = lead_.learners.at(sid);
  l.phase = Phase::syncing;
  l.synced_len = disk_.size();
  auto body = std::make_shared<SyncBody>();
  body->history = std::make_shared<const History>(disk_.history());
  body->committed = disk_.committed;
  body->history_digest = disk_.prefix_digest(disk_.size());
  auto bytes = static_cast<std::uint32_t>(128 + 64 * disk_.size());
  send_to_learner(ctx, sid, Message{new_leader, bytes, 0, 0, lead_.new_epoch, std::move(body)});
}

void ZkServer::become_ready(Ctx& ctx) {
  lead_.ready = true;
  disk_.current_epoch = lead_.new_epoch;
  // The new leader's log is the new epoch's starting history: all of it commits now.
  commit_to(ctx, disk_.size());
  for (auto& [sid, l] : lead_.learners)
    if (l.phase == Phase::synced)
      send_to_learner(ctx, sid, Message{up_to_date, 64, 0, 0, disk_.committed, nullptr});
  for (const auto& [s, timeout] : tree_.sessions()) touch(ctx, s);
  ctx.count(m_elections_, 1);
  ctx.signal(k_signal_leader_elected);
  ctx.log(LogLevel::notable,
          fmt::format("LEADING: zookeeper-{} leads epoch {}", sid_, lead_.new_epoch));
}

void ZkServer::on_learner_message(Ctx& ctx, int sid, NodeId from, const Message& m) {
  if (m.type == follower_info) {
    auto known = lead_.learners.find(sid);
    if (known != lead_.learners.end() && known->second.conn == m.a) return;  // a retry
    Learner l;
    l.node = from;
    l.conn = m.a;
    l.accepted_epoch = m.b;
    l.last_heard = ctx.now();
    lead_.learners[sid] = l;
    if (lead_.new_epoch < 0) {
      lead_.info_from.insert(sid);
      lead_.max_accepted = std::max(lead_.max_accepted, m.b);
      if (static_cast<int>(lead_.info_from.size()) >= quorum()) decide_epoch(ctx);
    } else {
      send_to_learner(ctx, sid, Message{leader_info, 64, 0, 0, lead_.new_epoch, nullptr});
    }
    return;
  }
  auto it = lead_.learners.find(sid);
  if (it == lead_.learners.end() || it->second.conn != m.a) return;  // an old connection
  Learner& l = it->second;
  l.last_heard = ctx.now();
  switch (m.type) {
    case ack_epoch: {
      if (l.phase != Phase::info) return;
      l.phase = Phase::epoch_acked;
      std::int64_t cur = m.b, zxid = m.c;
      if (cur != -1 &&
          (cur > disk_.current_epoch || (cur == disk_.current_epoch && zxid > disk_.last_zxid()))) {
        return shutdown_to_looking(ctx, fmt::format("follower {} is ahead of the leader", sid));
      }
      if (lead_.established) return sync_learner(ctx, sid);
      if (cur != -1) lead_.epoch_acks.insert(sid);
      if (static_cast<int>(lead_.epoch_acks.size()) >= quorum()) on_epoch_quorum(ctx);
      return;
    }
    case ack_new_leader: {
      if (l.phase != Phase::syncing) return;
      l.phase = Phase::synced;
      if (!lead_.ready) {
        lead_.new_leader_acks.insert(sid);
        if (static_cast<int>(lead_.new_leader_acks.size()) >= quorum()) become_ready(ctx);
        return;
      }
      // A follower joining a running epoch: its sync covered every proposal logged so far.
      std::int64_t synced_zxid = l.synced_len == 0 ? 0 : disk_.history()[l.synced_len - 1].zxid;
      for (auto& [zxid, acks] : lead_.acks)
        if (zxid <= synced_zxid) acks.insert(sid);
      send_to_learner(ctx, sid, Message{up_to_date, 64, 0, 0, disk_.committed, nullptr});
      try_commit(ctx);
      return;
    }
    case ack: {
      if (l.phase != Phase::syncing && l.phase != Phase::synced) return;
      auto a = lead_.acks.find(m.c);
      if (a != lead_.acks.end()) a->second.insert(sid);
      try_commit(ctx);
      return;
    }
    case ping_reply:
      if (const auto* b = dynamic_cast<const SessionList*>(m.body.get()); b && lead_.ready)
        for (std::int64_t s : b->sessions) touch(ctx, s);
      return;
    case forward:
      if (const auto* b = dynamic_cast<const TxnBody*>(m.body.get());
          b && lead_.ready && l.phase == Phase::synced)
        propose(ctx, *b->entry.txn);
      return;
    case revalidate: {
      std::int64_t s = m.b;
      auto body = std::make_shared<RevalidateBody>();
      body->session = s;
      body->client = static_cast<NodeId>(m.c);
      body->valid = lead_.ready && tree_.session_live(s) && lead_.closing.count(s) == 0;
      body->timeout_ns = tree_.session_timeout(s);
      if (body->valid) touch(ctx, s);
      send_to_learner(ctx, sid, Message{revalidate_reply, 64, 0, 0, s, std::move(body)});
      return;
    }
    default:
      return;
  }
}

void ZkServer::propose(Ctx& ctx, Txn txn) {
  if (!lead_.ready) return;
  LoggedTxn e{make_zxid(lead_.new_epoch, ++lead_.counter), std::make_shared<const Txn>(txn)};
  disk_.append(e);
  lead_.acks[e.zxid].insert(sid_);
  for (auto& [sid, l] : lead_.learners) {
    if (l.phase != Phase::syncing && l.phase != Phase::synced) continue;
    auto body = std::make_shared<TxnBody>();
    body->entry = e;
    send_to_learner(ctx, sid, Message{proposal, 256, 0, 0, e.zxid, std::move(body)});
  }
  try_commit(ctx);
}

void ZkServer::try_commit(Ctx& ctx) {
  while (static_cast<std::size_t>(disk_.committed) < disk_.size()) {
    std::int64_t zxid = disk_.history()[disk_.committed].zxid;
    auto a = lead_.acks.find(zxid);
    if (a == lead_.acks.end() || static_cast<int>(a->second.size()) < quorum()) return;
    commit_to(ctx, disk_.committed + 1);
    for (auto& [sid, l] : lead_.learners)
      if (l.phase == Phase::syncing || l.phase == Phase::synced)
        send_to_learner(ctx, sid, Message{commit, 64, 0, 0, zxid, nullptr});
  }
}

void ZkServer::touch(Ctx& ctx, std::int64_t session) {
  if (!tree_.session_live(session)) return;
  // ZooKeeper's SessionTracker buckets expiry times by tickTime.
  DurationNs tick = tick_ns(ctx);
  TimeNs at = ctx.now() + tree_.session_timeout(session);
  at = (at / tick + 1) * tick;
  TimeNs& e = lead_.session_expiry[session];
  e = std::max(e, at);
}

void ZkServer::leader_tick(Ctx& ctx) {
  DurationNs tick = tick_ns(ctx);
  ctx.set_timer(tick / 2, tag(t_leader_tick));
  ++lead_.half_ticks;
  for (auto& [sid, l] : lead_.learners)
    send_to_learner(ctx, sid, Message{ping, 64, 0, 0, 0, nullptr});
  if (lead_.half_ticks % 2 != 0) return;
  // Drop learners that stayed silent too long (syncLimit once synced, initLimit before).
  for (auto it = lead_.learners.begin(); it != lead_.learners.end();) {
    std::int64_t ticks =
        it->second.phase == Phase::synced ? ctx.timing(k_sync_limit) : ctx.timing(k_init_limit);
    if (ctx.now() - it->second.last_heard > ticks * tick) {
      ctx.log(LogLevel::info, fmt::format("dropping follower zookeeper-{}: silent", it->first));
      it = lead_.learners.erase(it);
    } else {
      ++it;
    }
  }
  if (!lead_.ready) return;
  int synced = 1;
  for (const auto& [sid, l] : lead_.learners)
    if (l.phase == Phase::synced) ++synced;
  if (synced < quorum()) {
    return shutdown_to_looking(
        ctx, fmt::format("Not sufficient followers synced, only synced with {} of {}", synced,
                         ensemble_));
  }
  std::vector<std::int64_t> expired;
  for (const auto& [s, at] : lead_.session_expiry)
    if (at <= ctx.now() && lead_.closing.count(s) == 0) expired.push_back(s);
  for (std::int64_t s : expired) {
    lead_.closing.insert(s);
    Txn t;
    t.op = TxnOp::close_session;
    t.session = s;
    t.expired = true;
    t.expired_at_ns = ctx.now();
    propose(ctx, t);
  }
}

}  // namespace stampede::zk
