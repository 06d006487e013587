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
  leader_sid_ = leader;
  follow_ = FollowerState{};
  follow_.leader = peers_[leader - 1];
  follow_.conn = ctx.random(1, INT32_MAX);
  follow_.last_heard = ctx.now();
  ctx.set_timer(tick_ns(ctx), tag(t_follower_tick));
  follower_connect(ctx);
}

void ZkServer::follower_connect(Ctx& ctx) {
  // The leader may not lead yet (it may still be finishing its election): like
  // Learner.connectToLeader, try again every second until it answers.
  if (follow_.next_seq > 0 || !follow_.early.empty()) return;
  ctx.send(follow_.leader, Message{follower_info, 64, follow_.conn, disk_.accepted_epoch,
                                   disk_.last_zxid(), nullptr});
  ctx.set_timer(k_s, tag(t_follower_connect));
}

void ZkServer::follower_tick(Ctx& ctx) {
  ctx.set_timer(tick_ns(ctx), tag(t_follower_tick));
  std::int64_t ticks = follow_.up_to_date ? ctx.timing(k_sync_limit) : ctx.timing(k_init_limit);
  if (ctx.now() - follow_.last_heard > ticks * tick_ns(ctx))
    shutdown_to_looking(ctx, fmt::format("no word from leader zookeeper-{}", leader_sid_));
}

void ZkServer::on_leader_stream(Ctx& ctx, const Message& m) {
  if (m.a != follow_.conn) return;
  follow_.last_heard = ctx.now();
  if (m.b < follow_.next_seq) return;
  if (m.b > follow_.next_seq) {
    follow_.early.emplace(m.b, m);
    return;
  }
  std::int64_t conn = follow_.conn;
  process_leader_message(ctx, m);
  while (state_ == ServerState::following && follow_.conn == conn) {
    ++follow_.next_seq;
    auto it = follow_.early.find(follow_.next_seq);
    if (it == follow_.early.end()) break;
    Message next = std::move(it->second);
    follow_.early.erase(it);
    process_leader_message(ctx, next);
  }
}

void ZkServer::process_leader_message(Ctx& ctx, const Message& m) {
  switch (m.type) {
    case leader_info: {
      std::int64_t e = m.c;
      if (e > disk_.accepted_epoch) {
        disk_.accepted_epoch = e;
        ctx.send(follow_.leader, Message{ack_epoch, 64, follow_.conn, disk_.current_epoch,
                                         disk_.last_zxid(), nullptr});
      } else if (e == disk_.accepted_epoch) {
        // Already acked this epoch to someone: give our log position, but no second ack.
        ctx.send(follow_.leader,
                 Message{ack_epoch, 64, follow_.conn, -1, disk_.last_zxid(), nullptr});
      } else {
        shutdown_to_looking(ctx, "leader's epoch is older than our accepted epoch");
      }
      return;
    }
    case new_leader: {
      const auto* b = dynamic_cast<const SyncBody*>(m.body.get());
      if (!b) return;
      std::size_t common = disk_.assign(*b->history);
      if (common < static_cast<std::size_t>(disk_.committed)) {
        // Never happens under Zab: the invariant zk.committed_never_lost reports it.
        ctx.log(LogLevel::notable,
                fmt::format("sync truncated committed txns below 0x{:x}", disk_.last_zxid()));
        disk_.committed = 0;
        tree_ = DataTree{};
      }
      disk_.current_epoch = m.c;
      commit_to(ctx, static_cast<std::size_t>(b->committed));
      follow_.synced = true;
      ctx.send(follow_.leader,
               Message{ack_new_leader, 64, follow_.conn, m.c, disk_.last_zxid(), nullptr});
      return;
    }
    case up_to_date:
      commit_to(ctx, static_cast<std::size_t>(m.c));
      follow_.up_to_date = true;
      return;
    case proposal: {
      const auto* b = dynamic_cast<const TxnBody*>(m.body.get());
      if (!b || !follow_.synced) return;
      if (b->entry.zxid > disk_.last_zxid()) disk_.append(b->entry);
      ctx.send(follow_.leader, Message{ack, 64, follow_.conn, 0, b->entry.zxid, nullptr});
      return;
    }
    case commit: {
      std::size_t n = static_cast<std::size_t>(disk_.committed);
      while (n < disk_.size() && disk_.history()[n].zxid <= m.c) ++n;
      commit_to(ctx, n);
      return;
    }
    case ping: {
      auto body = std::make_shared<SessionList>();
      body->sessions.assign(follow_.touched.begin(), follow_.touched.end());
      follow_.touched.clear();
      ctx.send(follow_.leader, Message{ping_reply, 64, follow_.conn, 0, 0, std::move(body)});
      return;
    }
    case revalidate_reply: {
      const auto* b = dynamic_cast<const RevalidateBody*>(m.body.get());
      if (!b) return;
      auto it = clients_.find(b->client);
      if (it == clients_.end() || it->second.session != b->session || it->second.established)
        return;
      if (b->valid) {
        it->second.established = true;
        reply_client(ctx, b->client, client_connected, b->session, b->timeout_ns);
      } else {
        reply_client(ctx, b->client, client_expired, b->session, 0);
        clients_.erase(it);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace stampede::zk
