#pragma once
// A sans-I/O ZooKeeper client library, with the standard lock recipe, for embedding in another
// node (a Cattle server). It is not a Node: its owner forwards the messages and timers that are
// its own (owns_message / owns_timer) and passes its Ctx along.
//
// Sessions behave like ZooKeeper's Java client: it connects to one server at a time; it pings
// every timeout/3 and declares CONNECTION LOSS after 2/3 of the timeout without hearing from its
// server, then tries the next server (after a random pause of up to 1 s, as ClientCnxn does);
// SESSION EXPIRED comes from a server once the leader has expired the session, and the session
// id is then never used again (a fresh session is started).
//
// The lock recipe: create /locks/NAME/lock-<session>- ephemeral and sequential; the lowest
// sequence holds the lock; any other waits on an exists-watch of its predecessor and re-checks
// when it fires. The session id in the name (Curator's "protected" mode) lets the recipe find
// its own node again after a connection loss left a create's answer unknown. A held lock counts
// as lost on connection loss (Curator's SUSPENDED), and is re-checked once reconnected.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/zookeeper/messages.hpp"
#include "sim/core/node.hpp"

namespace stampede::zk {

// The hash a client reports for a held lock's name (probe "zk.held_lock").
std::int64_t lock_name_hash(std::string_view name);

enum class SessionState : std::uint8_t { disconnected, connecting, connected, expired };
enum class SessionEvent : std::uint8_t { connected, connection_lost, expired };

class ZkClient {
 public:
  struct Callbacks {
    std::function<void(Ctx&, const std::string& lock)> acquired;
    std::function<void(Ctx&, const std::string& lock)> lost;  // while held
    std::function<void(Ctx&, SessionEvent)> session;
  };

  // Talks to zookeeper-1..ensemble_size. A requested timeout of 0 uses zk_session_timeout.
  explicit ZkClient(int ensemble_size, DurationNs requested_timeout_ns = 0);
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  // From the owner's on_start (also after a restart: a restarted process opens a new session).
  void start(Ctx& ctx);
  // From the owner's on_crash: everything here is volatile.
  void crash();

  static bool owns_message(std::uint32_t type) { return is_client_type(type); }
  static bool owns_timer(std::uint64_t tag) {
    return (tag & k_tag_prefix_mask) == k_client_tag_prefix;
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);

  void lock(Ctx& ctx, const std::string& name);
  void unlock(Ctx& ctx, const std::string& name);
  bool holds(std::string_view name) const;
  std::vector<std::string> held() const;  // sorted

  SessionState state() const { return state_; }
  // Whether the session may still be trusted at `now` (the owner's clock): connected, and heard
  // from within 2/3 of the negotiated timeout, the point where the client declares connection
  // loss. The leader cannot expire the session before a full timeout of silence, so a holder that
  // acts only while this holds never acts after its session expired (clocks that drift apart
  // aside). It answers at once, unlike the read timer, which may fire after a pause ends.
  bool lease_valid(TimeNs now) const {
    return state_ == SessionState::connected && now - last_heard_ < timeout_ns_ * 2 / 3;
  }
  std::int64_t session_id() const { return session_; }
  DurationNs negotiated_timeout() const { return timeout_ns_; }
  std::int64_t expirations() const { return expirations_; }
  std::uint64_t digest() const;
  // The probes an embedding node forwards so that zk.lock_mutual_exclusion sees its locks:
  // zk.held_lock_count, zk.held_lock (arg: index; the lock_name_hash of the name),
  // zk.session_id, zk.session_state, zk.expirations. nullopt for other keys.
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;

 private:
  enum TimerKind : std::uint32_t { t_connect = 1, t_ping, t_read, t_reconnect };
  enum class Op : std::uint8_t { list, create, check, remove };
  struct Pending {
    Op op = Op::list;
    std::string lock;
  };
  struct LockState {
    bool wanted = false;
    bool held = false;
    bool busy = false;     // a request of the recipe is in flight
    std::string node;      // our lock node's full path, once known
    std::string watching;  // the predecessor we wait on
  };

  std::uint64_t tag(TimerKind k) const { return make_tag(k_client_tag_prefix, k, gen_); }
  void connect(Ctx& ctx);
  void connection_lost(Ctx& ctx);
  void session_expired(Ctx& ctx);
  void schedule_reconnect(Ctx& ctx);
  void on_connected(Ctx& ctx);
  void on_response(Ctx& ctx, std::int64_t xid, const Message& m);
  void step(Ctx& ctx, const std::string& name);
  std::int64_t send_request(Ctx& ctx, std::uint8_t op, const std::string& path, std::int64_t flags,
                            bool watch, Pending p);
  std::string dir_of(const std::string& name) const { return "/locks/" + name; }
  std::string prefix() const;

  int ensemble_;
  DurationNs requested_ns_;
  Callbacks cb_;
  std::vector<NodeId> servers_;
  SessionState state_ = SessionState::disconnected;
  std::int64_t session_ = 0;
  DurationNs timeout_ns_ = 0;
  int server_index_ = 0;
  NodeId server_ = k_no_node;
  std::int64_t conn_ = 0;
  std::uint32_t gen_ = 0;
  TimeNs last_heard_ = 0;
  std::int64_t next_xid_ = 0;
  std::int64_t expirations_ = 0;
  std::map<std::int64_t, Pending> pending_;
  std::map<std::string, LockState> locks_;
  std::set<std::string> to_delete_;  // released while disconnected
};

}  // namespace stampede::zk
