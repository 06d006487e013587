#include "models/zookeeper/zk_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"

namespace stampede::zk {

ZkServer::ZkServer(int sid, int ensemble_size, Disk initial)
    : sid_(sid), ensemble_(ensemble_size) {
  durable_.disk = std::move(initial);
}

bool ZkServer::serving() const {
  return (vol_.state == ServerState::leading && vol_.lead.ready) ||
         (vol_.state == ServerState::following && vol_.follow.up_to_date);
}

int ZkServer::sid_of(NodeId node) const {
  for (std::size_t i = 0; i < cfg_.peers.size(); ++i)
    if (cfg_.peers[i] == node) return static_cast<int>(i) + 1;
  return 0;
}

void ZkServer::read_config(Ctx& ctx) {
  cfg_.peers.clear();
  for (int k = 1; k <= ensemble_; ++k)
    cfg_.peers.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  cfg_.tick_ns = ctx.timing(k_tick_time);
  cfg_.init_limit = ctx.timing(k_init_limit);
  cfg_.sync_limit = ctx.timing(k_sync_limit);
  cfg_.min_session_timeout = ctx.timing(k_min_session_timeout);
  cfg_.max_session_timeout = ctx.timing(k_max_session_timeout);
  cfg_.finalize_wait_ns = ctx.timing(k_finalize_wait);
  cfg_.max_notification_interval_ns = ctx.timing(k_max_notification_interval);
  cfg_.exit_teardown_ns = ctx.timing(k_exit_teardown);
  cfg_.follower_shutdown_ns = ctx.timing(k_follower_shutdown_time);
  cfg_.follower_shutdown_spread_ns = ctx.timing(k_follower_shutdown_spread);
  cfg_.leader_bind_ns = ctx.timing(k_leader_bind_time);
  cfg_.learner_sync_ns = ctx.timing(k_learner_sync_time);
  cfg_.leader_startup_ns = ctx.timing(k_leader_startup_time);
  cfg_.correct_order = ctx.mechanism(k_correct_vote_order);
  cfg_.session_order = ctx.mechanism(k_session_order);
  cfg_.learner_connect_tries = ctx.mechanism(k_learner_connect_tries);
  cfg_.page_cache.force_sync = !ctx.mechanism(k_force_sync_no);
  cfg_.page_cache.dirty_expire_ns = ctx.timing(k_dirty_expire);
  cfg_.page_cache.writeback_interval_ns = ctx.timing(k_dirty_writeback);
  cfg_.m_elections = ctx.intern(k_metric_elections);
  cfg_.m_commits = ctx.intern(k_metric_commits);
}

void ZkServer::on_start(Ctx& ctx) {
  read_config(ctx);
  vol_.vote_send_ok.assign(cfg_.peers.size(), 0);
  vol_.vote_queued.assign(cfg_.peers.size(), 0);
  vol_.flush_armed = false;
  // The snapshot and log give back the committed tree.
  vol_.tree = DataTree{};
  const Disk& disk = durable_.disk;
  for (std::int64_t i = 0; i < disk.committed; ++i) vol_.tree.mut().apply(*disk.history()[i].txn);
  if (durable_.lost_at_power_loss > 0) {
    ctx.event(LogLevel::notable,
              Event("zookeeper.log_lost")
                  .with("entries", durable_.lost_at_power_loss)
                  .with("last_zxid", disk.last_zxid()),
              fmt::format("the power loss took the txn log's last {} entries (forceSync=no): "
                          "the log ends at 0x{:x}",
                          durable_.lost_at_power_loss, disk.last_zxid()));
    durable_.lost_at_power_loss = 0;
  }
  // Session ids carry the server id and the boot time, as ZooKeeper's do, so a restarted server
  // never hands out an id that is still in use.
  vol_.next_session = (static_cast<std::int64_t>(sid_) << 56) |
                      (((ctx.now() / k_ms) & ((std::int64_t{1} << 40) - 1)) << 12);
  start_looking(ctx);
}

void ZkServer::on_crash() {
  ++durable_.gen;
  vol_ = Volatile{};
}

void ZkServer::on_power_loss(TimeNs now_ns) {
  durable_.lost_at_power_loss +=
      static_cast<std::int64_t>(durable_.disk.lose_unsynced(now_ns, cfg_.page_cache));
  on_crash();
}

void ZkServer::set_state(Ctx& ctx, ServerState s) {
  if (vol_.state != ServerState::looking && s != vol_.state) close_all_clients(ctx);
  vol_.state = s;
  ++durable_.gen;
}

void ZkServer::shutdown_to_looking(Ctx& ctx, std::string_view why) {
  ctx.event(LogLevel::info, Event("zookeeper.shutdown").with("reason", why),
            fmt::format("shutdown called: {}; going LOOKING", why));
  close_all_clients(ctx);
  close_role_connections(ctx);
  vol_.lead = LeaderState{};
  vol_.follow = FollowerState{};
  start_looking(ctx);
}

void ZkServer::on_message(Ctx& ctx, NodeId from, const Message& m) {
  if (is_client_type(m.type)) return on_client_message(ctx, from, m);
  int sid = sid_of(from);
  if (sid == 0) return;
  if (wire::dispatch<Notification>(m, [&](const Notification& n) { on(ctx, from, n); })) return;
  if (wire::dispatch<LearnerRefused>(m, [&](const LearnerRefused& r) {
        if (vol_.state == ServerState::following && from == vol_.follow.leader &&
            r.conn == vol_.follow.conn && vol_.follow.exiting == FollowerExit::none)
          follower_refused(ctx);
      }))
    return;
  // A follower shutting down has closed its leader's socket: what comes on it is lost.
  bool from_leader = vol_.state == ServerState::following && from == vol_.follow.leader &&
                     vol_.follow.exiting == FollowerExit::none;
  if (wire::dispatch<LeaderInfo, NewLeader, UpToDate, Proposal, Commit, Ping, RevalidateReply>(
          m, [&](const auto& x) {
            if (from_leader) on_leader_stream(ctx, x.conn, x.seq, m);
          }))
    return;
  if (vol_.state == ServerState::leading) return on_learner_message(ctx, sid, from, m);
  // No Leader, so no bound quorum port: the connect is refused (the learner retries).
  wire::dispatch<FollowerInfo>(
      m, [&](const FollowerInfo& f) { refuse_learner(ctx, sid, from, f.conn); });
}

// The learner's connect found no quorum port bound: the kernel resets it, and the learner reads
// the refusal one round trip after its connect (LearnerRefused).
void ZkServer::refuse_learner(Ctx& ctx, int sid, NodeId from, std::int64_t conn) {
  ctx.log(LogLevel::debug, fmt::format(
                               "FOLLOWERINFO from zookeeper-{} before the quorum port is bound: "
                               "refused",
                               sid));
  ctx.send(from, wire::encode(LearnerRefused{conn}));
}

void ZkServer::on_timer(Ctx& ctx, std::uint64_t t) {
  // The vote flush outlives state changes: it carries no generation.
  if (timer_tag::dispatch<FlushVotesTimer>(t, [&](const FlushVotesTimer&) { flush_votes(ctx); }))
    return;
  timer_tag::dispatch<PollTimer, FinalizeTimer, LeaderTickTimer, DeadlineTimer, FollowerTickTimer,
                      ConnectTimer, ExpiryTimer, LeaderLoopTimer, FollowerShutdownTimer,
                      LeaderBindTimer, LearnerSyncTimer, LeaderStartTimer>(
      t, [&](const auto& timer) {
        if (timer.gen == durable_.gen) on(ctx, timer);  // otherwise stale
      });
}

void ZkServer::on(Ctx& ctx, const PollTimer& t) {
  (void)t;
  if (vol_.state != ServerState::looking || vol_.finalizing) return;
  // No notification for a while: send ours again, and back off.
  send_notifications(ctx);
  vol_.not_timeout_ns = std::min(vol_.not_timeout_ns * 2, cfg_.max_notification_interval_ns);
  arm_poll(ctx);
}

void ZkServer::on(Ctx& ctx, const FinalizeTimer& t) {
  (void)t;
  if (vol_.state == ServerState::looking && vol_.finalizing)
    decide(ctx, durable_.proposal, vol_.logical_clock);
}

void ZkServer::on(Ctx& ctx, const LeaderTickTimer& t) {
  (void)t;
  if (vol_.state == ServerState::leading) leader_tick(ctx);
}

void ZkServer::on(Ctx& ctx, const DeadlineTimer& t) {
  (void)t;
  if (vol_.state == ServerState::leading && !vol_.lead.ready &&
      ctx.now() >= vol_.lead.deadline_at)
    shutdown_to_looking(ctx, "leader not established within initLimit ticks");
}

void ZkServer::on(Ctx& ctx, const FollowerTickTimer& t) {
  (void)t;
  if (vol_.state == ServerState::following && vol_.follow.exiting == FollowerExit::none)
    follower_tick(ctx);
}

void ZkServer::on(Ctx& ctx, const ConnectTimer& t) {
  (void)t;
  if (vol_.state == ServerState::following && vol_.follow.exiting == FollowerExit::none)
    follower_connect(ctx);
}

void ZkServer::on(Ctx& ctx, const LeaderLoopTimer& t) {
  (void)t;
  if (vol_.state == ServerState::leading) leader_loop(ctx);
}

void ZkServer::on(Ctx& ctx, const ExpiryTimer& t) {
  (void)t;
  if (vol_.state != ServerState::leading) return;
  if (ctx.now() >= vol_.lead.expiry_timer_at) vol_.lead.expiry_timer_at = 0;
  expire_sessions(ctx);
}

void ZkServer::commit_to(Ctx& ctx, std::size_t count) {
  Disk& disk = durable_.disk;
  count = std::min(count, disk.size());
  while (static_cast<std::size_t>(disk.committed) < count) {
    const LoggedTxn& e = disk.history()[disk.committed];
    ++disk.committed;
    apply_entry(ctx, e);
  }
}

void ZkServer::apply_entry(Ctx& ctx, const LoggedTxn& e) {
  const Txn& t = *e.txn;
  // The timeout is read before applying: a close_session removes the session from the tree.
  std::int64_t closed_timeout_ns =
      t.op == TxnOp::close_session ? vol_.tree->session_timeout(t.session) : 0;
  ApplyResult r = vol_.tree.mut().apply(t);
  if (vol_.state == ServerState::leading) on_leader_applied(ctx, e, closed_timeout_ns);
  fire_watches(ctx, r);
  answer_origin(ctx, t, r);
  if (t.op == TxnOp::close_session) {
    // Every server that applies a session's close closes the connection that holds it
    // (FinalRequestProcessor.applyRequest, FinalRequestProcessor.java:119-126 at
    // release-3.8.0-1): the client reads EOF and learns of the expiry only when it reconnects
    // and the server answers its session is gone.
    for (auto it = vol_.clients.begin(); it != vol_.clients.end();) {
      if (it->second.session == t.session) {
        ctx.close_connection(it->first);
        it = vol_.clients.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void ZkServer::on_leader_applied(Ctx& ctx, const LoggedTxn& e, std::int64_t closed_timeout_ns) {
  const Txn& t = *e.txn;
  ctx.count(cfg_.m_commits, 1);
  vol_.lead.acks.erase(e.zxid);
  if (t.op == TxnOp::create_session) touch(ctx, t.session);
  if (t.op != TxnOp::close_session) return;
  vol_.lead.session_expiry.erase(t.session);
  vol_.lead.closing.erase(t.session);
  if (!t.expired) return;
  ctx.signal(k_signal_session_expired);
  ctx.event(LogLevel::notable,
            Event("zookeeper.session_expired")
                .with("session", t.session)
                .with("timeout_ms", closed_timeout_ns / k_ms),
            fmt::format("Expiring session 0x{:x}, timeout of {}ms exceeded", t.session,
                        closed_timeout_ns / k_ms));
}

void ZkServer::submit(Ctx& ctx, Txn txn) {
  if (vol_.state == ServerState::leading) return propose(ctx, std::move(txn));
  if (vol_.state != ServerState::following) return;
  auto body = std::make_shared<TxnBody>();
  body->entry.txn = std::make_shared<const Txn>(std::move(txn));
  ctx.send(vol_.follow.leader, wire::encode(Forward{vol_.follow.conn, std::move(body)}));
}

static std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> ZkServer::probe(std::string_view key, std::string_view arg) const {
  const Disk& disk = durable_.disk;
  if (key == "zk.state") return static_cast<std::int64_t>(vol_.state);
  if (key == "zk.serving") return serving() ? 1 : 0;
  if (key == "zk.leader") return vol_.state == ServerState::looking ? 0 : vol_.leader_sid;
  if (key == "zk.leading_epoch") {
    if (vol_.state == ServerState::leading && vol_.lead.established) return vol_.lead.new_epoch;
    return std::nullopt;
  }
  if (key == "zk.synced") {
    return (vol_.state == ServerState::leading && vol_.lead.ready) ||
                   (vol_.state == ServerState::following && vol_.follow.synced)
               ? 1
               : 0;
  }
  if (key == "zk.accepted_epoch") return disk.accepted_epoch;
  if (key == "zk.current_epoch") return disk.current_epoch;
  if (key == "zk.session_live") {
    auto s = parse_int(arg);
    if (!s) return std::nullopt;
    return vol_.tree->session_live(*s) ? 1 : 0;
  }
  if (key == "zk.session_expired_ns") {
    auto s = parse_int(arg);
    if (!s) return std::nullopt;
    return vol_.tree->session_expired_at(*s);
  }
  if (key == "zk.node_exists") return vol_.tree->exists(std::string(arg)) ? 1 : 0;
  if (key == "zk.children_count")
    return static_cast<std::int64_t>(vol_.tree->children(std::string(arg)).size());
  if (key == "zk.logical_clock") return vol_.logical_clock;
  if (key == "zk.vote_changes") return durable_.vote_changes;
  return probe_log(key, arg);
}

// The probes of the txn log.
std::optional<std::int64_t> ZkServer::probe_log(std::string_view key, std::string_view arg) const {
  const Disk& disk = durable_.disk;
  if (key == "zk.committed_count") return disk.committed;
  if (key == "zk.history_len") return static_cast<std::int64_t>(disk.size());
  if (key == "zk.last_zxid") return disk.last_zxid();
  if (key == "zk.has_probe_write") {
    // The probe's writes are the newest entries in a long log: searched from its end.
    auto id = parse_int(arg);
    if (!id) return std::nullopt;
    const History& h = disk.history();
    return std::any_of(h.rbegin(), h.rend(),
                       [&](const LoggedTxn& e) { return e.txn->probe && e.txn->xid == *id; })
               ? 1
               : 0;
  }
  if (key == "zk.last_committed_zxid")
    return disk.committed == 0 ? 0 : disk.history()[disk.committed - 1].zxid;
  if (key == "zk.zxid_at" || key == "zk.prefix_digest") {
    auto i = parse_int(arg);
    if (!i || *i < 0) return std::nullopt;
    std::size_t n = static_cast<std::size_t>(*i);
    if (key == "zk.zxid_at") {
      if (n >= disk.size()) return std::nullopt;
      return disk.history()[n].zxid;
    }
    if (n > disk.size()) return std::nullopt;
    return static_cast<std::int64_t>(disk.prefix_digest(n));
  }
  return std::nullopt;
}

std::uint64_t ZkServer::state_digest() const {
  // The server id and the ensemble's size, given at construction, are digested too, so that two
  // servers with equal state still differ, as they always have.
  return state::digest(sid_, ensemble_, durable_, vol_);
}

std::size_t ZkServer::state_field_count() const { return state::field_total(durable_, vol_); }

std::string ZkServer::perturb_state_field(std::size_t i) {
  return state::perturb_field(i, durable_, vol_);
}

std::string_view ZkServer::message_name(std::uint32_t type) const { return type_name(type); }

}  // namespace stampede::zk
