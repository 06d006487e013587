// FastLeaderElection (ZooKeeper's lookForLeader), as a state machine: the blocking receive with a
// doubling timeout becomes the poll timer, and the final "wait finalizeWait for a better vote"
// becomes the finalize timer.
#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

bool ZkServer::correct_order(Ctx& ctx) const {
  return ctx.mechanism(k_correct_vote_order);
}

void ZkServer::update_proposal(const Vote& v) {
  if (!(v == proposal_)) ++vote_changes_;
  proposal_ = v;
}

void ZkServer::start_looking(Ctx& ctx) {
  set_state(ctx, ServerState::looking);
  leader_sid_ = 0;
  ++logical_clock_;
  recvset_.clear();
  outofelection_.clear();
  finalizing_ = false;
  update_proposal(self_vote());
  recvset_[sid_] = VoteRec{proposal_, logical_clock_, ServerState::looking};
  not_timeout_ns_ = ctx.timing(k_finalize_wait);
  send_notifications(ctx);
  arm_poll(ctx);
  if (term_predicate(recvset_, proposal_, logical_clock_)) {  // an ensemble of one
    decide(ctx, proposal_, logical_clock_);
  }
}

void ZkServer::arm_poll(Ctx& ctx) {
  ctx.cancel_timer(poll_timer_);
  poll_timer_ = ctx.set_timer(not_timeout_ns_, tag(t_poll));
}

namespace {
constexpr DurationNs k_vote_send_gap_ns = k_ms;
}

void ZkServer::send_vote_to(Ctx& ctx, NodeId to, ServerState state) {
  (void)state;  // the vote written is the one current when it is written
  int sid = sid_of(to);
  if (sid == 0) return;
  if (ctx.now() >= vote_send_ok_[sid - 1]) return write_vote(ctx, sid);
  vote_queued_[sid - 1] = 1;
  if (!flush_armed_) {
    flush_armed_ = true;
    ctx.set_timer(vote_send_ok_[sid - 1] - ctx.now(),
                  make_tag(k_server_tag_prefix, t_flush_votes, 0));
  }
}

void ZkServer::write_vote(Ctx& ctx, int sid) {
  vote_send_ok_[sid - 1] = ctx.now() + k_vote_send_gap_ns;
  vote_queued_[sid - 1] = 0;
  auto body = std::make_shared<VoteBody>();
  if (state_ == ServerState::looking) {
    body->vote = proposal_;
    body->election_epoch = logical_clock_;
  } else {
    body->vote = end_vote_;
    body->election_epoch = end_election_epoch_;
  }
  body->state = state_;
  ctx.send(peers_[sid - 1], Message{notification, 64, body->vote.leader, body->vote.zxid,
                                    body->election_epoch, std::move(body)});
}

void ZkServer::flush_votes(Ctx& ctx) {
  flush_armed_ = false;
  TimeNs next = k_time_never;
  for (std::size_t i = 0; i < vote_queued_.size(); ++i) {
    if (!vote_queued_[i]) continue;
    if (ctx.now() >= vote_send_ok_[i]) {
      write_vote(ctx, static_cast<int>(i) + 1);
    } else {
      next = std::min(next, vote_send_ok_[i]);
    }
  }
  if (next != k_time_never) {
    flush_armed_ = true;
    ctx.set_timer(next - ctx.now(), make_tag(k_server_tag_prefix, t_flush_votes, 0));
  }
}

void ZkServer::send_notifications(Ctx& ctx) {
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (static_cast<int>(i) + 1 == sid_ || peers_[i] == k_no_node) continue;
    send_vote_to(ctx, peers_[i], ServerState::looking);
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
  return logical_clock_ == ee;
}

void ZkServer::on_notification(Ctx& ctx, NodeId from, const VoteBody& n) {
  int sender = sid_of(from);
  if (n.vote.leader < 1 || n.vote.leader > ensemble_) return;
  if (state_ != ServerState::looking) {
    // A peer is looking: tell it whom we follow.
    if (n.state == ServerState::looking) send_vote_to(ctx, from, state_);
    return;
  }
  bool order = correct_order(ctx);
  if (n.state == ServerState::looking && n.election_epoch < logical_clock_) {
    send_vote_to(ctx, from, ServerState::looking);  // it is behind: help it catch up
  }
  if (finalizing_) {
    // A better vote reopens the election; anything else is consumed (as in lookForLeader).
    if (!total_order_predicate(n.vote, proposal_, order)) return;
    finalizing_ = false;
    ++gen_;  // drops the finalize timer
  }
  arm_poll(ctx);
  if (n.state == ServerState::looking) {
    if (n.election_epoch > logical_clock_) {
      logical_clock_ = n.election_epoch;
      recvset_.clear();
      update_proposal(total_order_predicate(n.vote, self_vote(), order) ? n.vote : self_vote());
      send_notifications(ctx);
    } else if (n.election_epoch < logical_clock_) {
      return;
    } else if (total_order_predicate(n.vote, proposal_, order)) {
      update_proposal(n.vote);
      send_notifications(ctx);
    }
    recvset_[sid_] = VoteRec{proposal_, logical_clock_, ServerState::looking};
    recvset_[sender] = VoteRec{n.vote, n.election_epoch, n.state};
    if (term_predicate(recvset_, proposal_, logical_clock_)) {
      finalizing_ = true;
      ++gen_;  // drops the poll timer
      ctx.set_timer(ctx.timing(k_finalize_wait), tag(t_finalize));
    }
    return;
  }
  // The sender follows or leads already.
  if (n.election_epoch == logical_clock_) {
    recvset_[sender] = VoteRec{n.vote, n.election_epoch, n.state};
    if (term_predicate(recvset_, n.vote, n.election_epoch) &&
        check_leader(outofelection_, n.vote.leader, n.election_epoch)) {
      return decide(ctx, n.vote, n.election_epoch);
    }
  }
  outofelection_[sender] = VoteRec{n.vote, n.election_epoch, n.state};
  if (term_predicate(outofelection_, n.vote, n.election_epoch) &&
      check_leader(outofelection_, n.vote.leader, n.election_epoch)) {
    logical_clock_ = n.election_epoch;
    return decide(ctx, n.vote, n.election_epoch);
  }
}

void ZkServer::decide(Ctx& ctx, const Vote& v, std::int64_t ee) {
  finalizing_ = false;
  end_vote_ = v;
  end_election_epoch_ = ee;
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
