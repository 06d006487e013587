#include "models/zookeeper/zk_server.hpp"

#include <fmt/format.h>

#include <charconv>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"

namespace stampede::zk {

ZkServer::ZkServer(int sid, int ensemble_size, Durable initial)
    : sid_(sid), ensemble_(ensemble_size), disk_(std::move(initial)) {}

std::uint64_t ZkServer::tag(TimerKind k) const {
  return make_tag(k_server_tag_prefix, k, gen_);
}

std::int64_t ZkServer::tick_ns(Ctx& ctx) const {
  return ctx.timing(k_tick_time);
}

bool ZkServer::serving() const {
  return (state_ == ServerState::leading && lead_.ready) ||
         (state_ == ServerState::following && follow_.up_to_date);
}

int ZkServer::sid_of(NodeId node) const {
  for (std::size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i] == node) return static_cast<int>(i) + 1;
  return 0;
}

void ZkServer::on_start(Ctx& ctx) {
  peers_.clear();
  for (int k = 1; k <= ensemble_; ++k) peers_.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  vote_send_ok_.assign(peers_.size(), 0);
  vote_queued_.assign(peers_.size(), 0);
  flush_armed_ = false;
  m_elections_ = ctx.intern(k_metric_elections);
  m_commits_ = ctx.intern(k_metric_commits);
  // The snapshot and log give back the committed tree.
  tree_ = DataTree{};
  for (std::int64_t i = 0; i < disk_.committed; ++i) tree_.apply(*disk_.history()[i].txn);
  // Session ids carry the server id and the boot time, as ZooKeeper's do, so a restarted server
  // never hands out an id that is still in use.
  next_session_ = (static_cast<std::int64_t>(sid_) << 56) |
                  (((ctx.now() / k_ms) & ((std::int64_t{1} << 40) - 1)) << 12);
  start_looking(ctx);
}

void ZkServer::on_crash() {
  state_ = ServerState::looking;
  ++gen_;
  leader_sid_ = 0;
  tree_ = DataTree{};
  logical_clock_ = 0;
  recvset_.clear();
  outofelection_.clear();
  finalizing_ = false;
  flush_armed_ = false;
  lead_ = LeaderState{};
  follow_ = FollowerState{};
  clients_.clear();
  data_watches_.clear();
  child_watches_.clear();
}

void ZkServer::set_state(Ctx& ctx, ServerState s) {
  if (state_ != ServerState::looking && s != state_) close_all_clients(ctx);
  state_ = s;
  ++gen_;
}

void ZkServer::shutdown_to_looking(Ctx& ctx, std::string_view why) {
  ctx.log(LogLevel::info, fmt::format("shutdown called: {}; going LOOKING", why));
  close_all_clients(ctx);
  lead_ = LeaderState{};
  follow_ = FollowerState{};
  start_looking(ctx);
}

void ZkServer::on_message(Ctx& ctx, NodeId from, const Message& m) {
  if (is_client_type(m.type)) return on_client_message(ctx, from, m);
  int sid = sid_of(from);
  if (sid == 0) return;
  if (m.type == notification) {
    if (const auto* n = dynamic_cast<const VoteBody*>(m.body.get())) on_notification(ctx, from, *n);
    return;
  }
  if (m.type >= leader_info) {
    if (state_ == ServerState::following && from == follow_.leader) on_leader_stream(ctx, m);
    return;
  }
  if (state_ == ServerState::leading) on_learner_message(ctx, sid, from, m);
}

void ZkServer::on_timer(Ctx& ctx, std::uint64_t t) {
  if ((t & k_tag_prefix_mask) != k_server_tag_prefix) return;
  if (tag_kind(t) == t_flush_votes) return flush_votes(ctx);  // outlives state changes
  if (tag_gen(t) != gen_) return;                             // stale
  switch (tag_kind(t)) {
    case t_poll:
      if (state_ != ServerState::looking || finalizing_) return;
      // No notification for a while: send ours again, and back off.
      send_notifications(ctx);
      not_timeout_ns_ = std::min(not_timeout_ns_ * 2, ctx.timing(k_max_notification_interval));
      arm_poll(ctx);
      return;
    case t_finalize:
      if (state_ == ServerState::looking && finalizing_) decide(ctx, proposal_, logical_clock_);
      return;
    case t_leader_tick:
      if (state_ == ServerState::leading) leader_tick(ctx);
      return;
    case t_leader_deadline:
      if (state_ == ServerState::leading && !lead_.ready && ctx.now() >= lead_.deadline_at)
        shutdown_to_looking(ctx, "leader not established within initLimit ticks");
      return;
    case t_follower_tick:
      if (state_ == ServerState::following) follower_tick(ctx);
      return;
    case t_follower_connect:
      if (state_ == ServerState::following) follower_connect(ctx);
      return;
    default:
      return;
  }
}

void ZkServer::commit_to(Ctx& ctx, std::size_t count) {
  count = std::min(count, disk_.size());
  while (static_cast<std::size_t>(disk_.committed) < count) {
    const LoggedTxn& e = disk_.history()[disk_.committed];
    ++disk_.committed;
    apply_entry(ctx, e);
  }
}

void ZkServer::apply_entry(Ctx& ctx, const LoggedTxn& e) {
  const Txn& t = *e.txn;
  // The timeout is read before applying: a close_session removes the session from the tree.
  std::int64_t closed_timeout_ns =
      t.op == TxnOp::close_session ? tree_.session_timeout(t.session) : 0;
  ApplyResult r = tree_.apply(t);
  if (state_ == ServerState::leading) {
    ctx.count(m_commits_, 1);
    lead_.acks.erase(e.zxid);
    if (t.op == TxnOp::create_session) touch(ctx, t.session);
    if (t.op == TxnOp::close_session) {
      lead_.session_expiry.erase(t.session);
      lead_.closing.erase(t.session);
      if (t.expired) {
        ctx.signal(k_signal_session_expired);
        ctx.log(LogLevel::notable, fmt::format("Expiring session 0x{:x}, timeout of {}ms exceeded",
                                               t.session, closed_timeout_ns / k_ms));
      }
    }
  }
  fire_watches(ctx, r);
  answer_origin(ctx, t, r);
  if (t.op == TxnOp::close_session) {
    // A client still connected here with that session learns that it is gone.
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->second.session == t.session) {
        ctx.send(it->first, Message{client_expired, 64, it->second.conn, t.session, 0, nullptr});
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void ZkServer::submit(Ctx& ctx, Txn txn) {
  if (state_ == ServerState::leading) return propose(ctx, std::move(txn));
  if (state_ != ServerState::following) return;
  auto body = std::make_shared<TxnBody>();
  body->entry.txn = std::make_shared<const Txn>(std::move(txn));
  ctx.send(follow_.leader, Message{forward, 256, follow_.conn, 0, 0, std::move(body)});
}

static std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> ZkServer::probe(std::string_view key, std::string_view arg) const {
  if (key == "zk.state") return static_cast<std::int64_t>(state_);
  if (key == "zk.serving") return serving() ? 1 : 0;
  if (key == "zk.leader") return state_ == ServerState::looking ? 0 : leader_sid_;
  if (key == "zk.leading_epoch") {
    if (state_ == ServerState::leading && lead_.established) return lead_.new_epoch;
    return std::nullopt;
  }
  if (key == "zk.synced") {
    return (state_ == ServerState::leading && lead_.ready) ||
                   (state_ == ServerState::following && follow_.synced)
               ? 1
               : 0;
  }
  if (key == "zk.accepted_epoch") return disk_.accepted_epoch;
  if (key == "zk.current_epoch") return disk_.current_epoch;
  if (key == "zk.committed_count") return disk_.committed;
  if (key == "zk.history_len") return static_cast<std::int64_t>(disk_.size());
  if (key == "zk.last_zxid") return disk_.last_zxid();
  if (key == "zk.last_committed_zxid")
    return disk_.committed == 0 ? 0 : disk_.history()[disk_.committed - 1].zxid;
  if (key == "zk.zxid_at" || key == "zk.prefix_digest") {
    auto i = parse_int(arg);
    if (!i || *i < 0) return std::nullopt;
    std::size_t n = static_cast<std::size_t>(*i);
    if (key == "zk.zxid_at") {
      if (n >= disk_.size()) return std::nullopt;
      return disk_.history()[n].zxid;
    }
    if (n > disk_.size()) return std::nullopt;
    return static_cast<std::int64_t>(disk_.prefix_digest(n));
  }
  if (key == "zk.session_live") {
    auto s = parse_int(arg);
    if (!s) return std::nullopt;
    return tree_.session_live(*s) ? 1 : 0;
  }
  if (key == "zk.session_expired_ns") {
    auto s = parse_int(arg);
    if (!s) return std::nullopt;
    return tree_.session_expired_at(*s);
  }
  if (key == "zk.node_exists") return tree_.exists(std::string(arg)) ? 1 : 0;
  if (key == "zk.children_count")
    return static_cast<std::int64_t>(tree_.children(std::string(arg)).size());
  if (key == "zk.logical_clock") return logical_clock_;
  if (key == "zk.vote_changes") return vote_changes_;
  return std::nullopt;
}

std::uint64_t ZkServer::state_digest() const {
  Digest d;
  d.add_signed(sid_).add_signed(disk_.accepted_epoch).add_signed(disk_.current_epoch);
  d.add_signed(disk_.committed).add(disk_.prefix_digest(disk_.size()));
  d.add(static_cast<std::uint64_t>(state_)).add_signed(leader_sid_).add(tree_.digest());
  d.add_signed(logical_clock_).add_signed(proposal_.leader).add_signed(proposal_.zxid);
  d.add_signed(proposal_.peer_epoch).add(finalizing_ ? 1 : 0);
  d.add_signed(lead_.new_epoch).add(lead_.established ? 1 : 0).add(lead_.ready ? 1 : 0);
  for (const auto& [sid, l] : lead_.learners)
    d.add_signed(sid).add_signed(l.conn).add(static_cast<std::uint64_t>(l.phase));
  d.add_signed(follow_.conn).add_signed(follow_.next_seq).add(follow_.up_to_date ? 1 : 0);
  for (const auto& [node, c] : clients_) d.add(node).add_signed(c.conn).add_signed(c.session);
  return d.value();
}

std::string_view ZkServer::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::zk
