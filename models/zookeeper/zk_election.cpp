// FastLeaderElection (ZooKeeper's lookForLeader), as a state machine: the blocking receive with a
// doubling timeout becomes the poll timer, and the final "wait finalizeWait for a better vote"
// becomes the finalize timer.
#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

void ZkServer::update_proposal(const Vote& v) {
  if (!(v == durable_.proposal)) ++durable_.vote_changes;
  durable_.proposal = v;
}

void ZkServer::start_looking(Ctx& ctx) {
  set_state(ctx, ServerState::looking);
  vol_.leader_sid = 0;
  ++vol_.logical_clock;
  vol_.recvset.clear();
  vol_.outofelection.clear();
  vol_.finalizing = false;
  update_proposal(self_vote());
  vol_.recvset[sid_] = VoteRec{durable_.proposal, vol_.logical_clock, ServerState::looking};
  vol_.not_timeout_ns = cfg_.finalize_wait_ns;
  send_notifications(ctx);
  arm_poll(ctx);
  if (term_predicate(vol_.recvset, durable_.proposal, vol_.logical_clock)) {  // an ensemble of one
    decide(ctx, durable_.proposal, vol_.logical_clock);
  }
}

void ZkServer::arm_poll(Ctx& ctx) {
  ctx.cancel_timer(vol_.poll_timer);
  vol_.poll_timer = ctx.set_timer(vol_.not_timeout_ns, tag<PollTimer>());
}

namespace {
constexpr DurationNs k_vote_send_gap_ns = k_ms;
}

// The vote written is the one current when it is written.
void ZkServer::send_vote_to(Ctx& ctx, NodeId to) {
  int sid = sid_of(to);
  if (sid == 0) return;
  if (ctx.now() >= vol_.vote_send_ok[sid - 1]) return write_vote(ctx, sid);
  vol_.vote_queued[sid - 1] = 1;
  if (!vol_.flush_armed) {
    vol_.flush_armed = true;
    ctx.set_timer(vol_.vote_send_ok[sid - 1] - ctx.now(), timer_tag::encode(FlushVotesTimer{}));
  }
}

void ZkServer::write_vote(Ctx& ctx, int sid) {
  vol_.vote_send_ok[sid - 1] = ctx.now() + k_vote_send_gap_ns;
  vol_.vote_queued[sid - 1] = 0;
  auto body = std::make_shared<VoteBody>();
  if (vol_.state == ServerState::looking) {
    body->vote = durable_.proposal;
    body->election_epoch = vol_.logical_clock;
  } else {
    body->vote = vol_.end_vote;
    body->election_epoch = vol_.end_election_epoch;
  }
  body->state = vol_.state;
  Notification n{body->vote.leader, body->vote.zxid, body->election_epoch, std::move(body)};
  ctx.send(cfg_.peers[sid - 1], wire::encode(n));
}

void ZkServer::flush_votes(Ctx& ctx) {
  vol_.flush_armed = false;
  TimeNs next = k_time_never;
  for (std::size_t i = 0; i < vol_.vote_queued.size(); ++i) {
    if (!vol_.vote_queued[i]) continue;
    if (ctx.now() >= vol_.vote_send_ok[i]) {
      write_vote(ctx, static_cast<int>(i) + 1);
    } else {
      next = std::min(next, vol_.vote_send_ok[i]);
    }
  }
  if (next != k_time_never) {
    vol_.flush_armed = true;
    ctx.set_timer(next - ctx.now(), timer_tag::encode(FlushVotesTimer{}));
  }
}

void ZkServer::send_notifications(Ctx& ctx) {
  for (std::size_t i = 0; i < cfg_.peers.size(); ++i) {
    if (static_cast<int>(i) + 1 == sid_ || cfg_.peers[i] == k_no_node) continue;
    send_vote_to(ctx, cfg_.peers[i]);
  }
}

bool ZkServer::term_predicate(const std::map<int, VoteRec>& set, const Vote& v,
                              std::int64_t ee) const {
  int n = 0;
  for (const auto& [sid, rec] : set)
    if (rec.vote == v && rec.election_epoch == ee) ++n;
  return n >= quorum();
}

bool ZkServer::check_leader(const std::map<int, VoteRec>& set, std::int64_t leader,
                            std::int64_t ee) const {
  // Do not follow a leader that has not said it leads (it may have crashed).
  if (leader != sid_) {
    auto it = set.find(static_cast<int>(leader));
    return it != set.end() && it->second.state == ServerState::leading;
  }
  return vol_.logical_clock == ee;
}

void ZkServer::on(Ctx& ctx, NodeId from, const Notification& m) {
  const VoteBody& n = *m.body;
  int sender = sid_of(from);
  if (n.vote.leader < 1 || n.vote.leader > ensemble_) return;
  if (vol_.state != ServerState::looking) {
    // A peer is looking: tell it whom we follow.
    if (n.state == ServerState::looking) send_vote_to(ctx, from);
    return;
  }
  if (n.state == ServerState::looking && n.election_epoch < vol_.logical_clock) {
    send_vote_to(ctx, from);  // it is behind: help it catch up
  }
  if (vol_.finalizing) {
    // A better vote reopens the election. Anything else is consumed, and the wait for a better
    // one starts again: lookForLeader polls its queue for finalizeWait once more after every
    // notification that is not better, so it decides finalizeWait after the last one
    // (FastLeaderElection.java lines 1049-1054 at release-3.8.0-1).
    ++durable_.gen;  // drops the finalize timer
    if (!total_order_predicate(n.vote, durable_.proposal, cfg_.correct_order)) {
      ctx.set_timer(cfg_.finalize_wait_ns, tag<FinalizeTimer>());
      return;
    }
    vol_.finalizing = false;
  }
  arm_poll(ctx);
  if (n.state == ServerState::looking) return on_looking_vote(ctx, sender, n);
  on_settled_vote(ctx, sender, n);
}

// A vote from a peer that is looking too.
void ZkServer::on_looking_vote(Ctx& ctx, int sender, const VoteBody& n) {
  bool order = cfg_.correct_order;
  if (n.election_epoch > vol_.logical_clock) {
    vol_.logical_clock = n.election_epoch;
    vol_.recvset.clear();
    update_proposal(total_order_predicate(n.vote, self_vote(), order) ? n.vote : self_vote());
    send_notifications(ctx);
  } else if (n.election_epoch < vol_.logical_clock) {
    return;
  } else if (total_order_predicate(n.vote, durable_.proposal, order)) {
    update_proposal(n.vote);
    send_notifications(ctx);
  }
  vol_.recvset[sid_] = VoteRec{durable_.proposal, vol_.logical_clock, ServerState::looking};
  vol_.recvset[sender] = VoteRec{n.vote, n.election_epoch, n.state};
  if (term_predicate(vol_.recvset, durable_.proposal, vol_.logical_clock)) {
    vol_.finalizing = true;
    ++durable_.gen;  // drops the poll timer
    ctx.set_timer(cfg_.finalize_wait_ns, tag<FinalizeTimer>());
  }
}

// A vote from a peer that follows or leads already.
void ZkServer::on_settled_vote(Ctx& ctx, int sender, const VoteBody& n) {
  if (n.election_epoch == vol_.logical_clock) {
    vol_.recvset[sender] = VoteRec{n.vote, n.election_epoch, n.state};
    if (term_predicate(vol_.recvset, n.vote, n.election_epoch) &&
        check_leader(vol_.outofelection, n.vote.leader, n.election_epoch)) {
      return decide(ctx, n.vote, n.election_epoch);
    }
  }
  vol_.outofelection[sender] = VoteRec{n.vote, n.election_epoch, n.state};
  if (term_predicate(vol_.outofelection, n.vote, n.election_epoch) &&
      check_leader(vol_.outofelection, n.vote.leader, n.election_epoch)) {
    vol_.logical_clock = n.election_epoch;
    return decide(ctx, n.vote, n.election_epoch);
  }
}

void ZkServer::decide(Ctx& ctx, const Vote& v, std::int64_t ee) {
  vol_.finalizing = false;
  vol_.end_vote = v;
  vol_.end_election_epoch = ee;
  int leader = static_cast<int>(v.leader);
  ctx.log(LogLevel::debug, fmt::format("election done: leader {} (zxid 0x{:x}, epoch {}, round {})",
                                       leader, v.zxid, v.peer_epoch, ee));
  if (leader == sid_) {
    become_leader(ctx);
  } else {
    become_follower(ctx, leader);
  }
}

}  // namespace stampede::zk
