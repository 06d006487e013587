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
// The lock recipe is Curator 2.10.0's InterProcessMutex, which Cattle 1.1 uses (apache/curator
// tag apache-curator-2.10.0). It creates first: an ephemeral sequential node whose name starts
// with a protected prefix unique to this create (curator-recipes/.../locks/LockInternals.java
// lines 217-218; StandardLockInternalsDriver.java lines 50-54, withProtection; the prefix is a
// fresh UUID per create, curator-framework/.../imps/CreateBuilderImpl.java lines 568-572), and
// only once the create is answered lists the directory (LockInternals.java lines 276-279). The
// lowest sequence holds the lock; any other waits on a watch of its predecessor and lists again
// when it fires. A create whose answer a connection loss left unknown is retried by first
// listing the directory for its protected prefix (CreateBuilderImpl.java lines 708-721 and
// 751-769: only a retry looks; a first attempt just creates), so the recipe never makes a
// second node for one create. A release's delete is guaranteed: lost with a connection, it is
// sent again on the next one (LockInternals.java line 339; DeleteBuilderImpl.java lines
// 264-268). A held lock counts as lost on connection loss (Curator's SUSPENDED), and is
// re-checked once reconnected.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/zookeeper/messages.hpp"
#include "sim/core/cow.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

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
    // A try_lock that found another holder (the client has withdrawn its node).
    std::function<void(Ctx&, const std::string& lock)> refused;
  };

  // Talks to zookeeper-1..ensemble_size. A requested timeout of 0 uses zk_session_timeout.
  explicit ZkClient(int ensemble_size, DurationNs requested_timeout_ns = 0);
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  // From the owner's on_start (also after a restart: a restarted process opens a new session).
  void start(Ctx& ctx);
  // From the owner's on_crash: everything here is volatile.
  void crash();

  static bool owns_message(std::uint32_t type) { return is_client_type(type); }
  static bool owns_timer(std::uint64_t tag) { return tag_prefix(tag) == k_client_tag_prefix; }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);
  // The host node passes on its connection events: one from the current server means the
  // socket died (EOF, reset or refused), and the client moves on at once (ClientCnxn's SendThread
  // catches the IOException, cleans up and starts connecting to the next server).
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event);

  void lock(Ctx& ctx, const std::string& name);
  // Curator's InterProcessMutex.acquire with no wait (what cattle's lock wrapper calls for
  // tryLock: rancher/cattle v0.165.8 code/implementation/zookeeper/src/main/java/io/cattle/
  // platform/zookeeper/lock/InterProcessMutextLockWrapper.java:31-33): the recipe creates its
  // node and lists the directory; the lowest holds the lock (acquired), any other deletes its
  // node at once and gives up (refused) instead of waiting on its predecessor.
  void try_lock(Ctx& ctx, const std::string& name);
  void unlock(Ctx& ctx, const std::string& name);
  bool holds(std::string_view name) const;
  std::vector<std::string> held() const;  // sorted

  SessionState state() const { return vol_.state; }
  // Whether the session may still be trusted at `now` (the owner's clock): connected, and heard
  // from within 2/3 of the negotiated timeout, the point where the client declares connection
  // loss. The leader cannot expire the session before a full timeout of silence, so a holder that
  // acts only while this holds never acts after its session expired (clocks that drift apart
  // aside). It answers at once, unlike the read timer, which may fire after a pause ends.
  bool lease_valid(TimeNs now) const {
    return vol_.state == SessionState::connected &&
           now - vol_.last_heard < vol_.timeout_ns * 2 / 3;
  }
  std::int64_t session_id() const { return vol_.session; }
  DurationNs negotiated_timeout() const { return vol_.timeout_ns; }
  std::int64_t expirations() const { return vol_.expirations; }
  // The digest of the client's state (its owner folds it into its own).
  std::uint64_t digest() const { return state::digest(vol_); }
  // As a state::Component of the node that embeds it.
  void digest_into(Digest& d) const { state::add(d, vol_); }
  std::size_t state_field_count() const { return state::field_total(vol_); }
  std::string perturb_state_field(std::size_t i) {
    held_stale_ = true;
    return state::perturb_field(i, vol_);
  }
  // The probes an embedding node forwards so that zk.lock_mutual_exclusion sees its locks:
  // zk.held_lock_count, zk.held_lock (arg: index; the lock_name_hash of the name),
  // zk.session_id, zk.session_state, zk.expirations. nullopt for other keys.
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;
  // What zk.held_lock 0..zk.held_lock_count - 1 answer, in that order, in one walk of the locks:
  // asking each index walks the locks from the start again (EmbedsZkClient).
  template <class F>
  void for_each_held_lock_hash(F&& f) const {
    if (vol_.state != SessionState::connected) return;
    for (const auto& [name, l] : *vol_.locks)
      if (l.held) f(l.name_hash != 0 ? l.name_hash.value : lock_name_hash(name));
  }
  // The same answers as one vector, kept until a call that may change the client: the lock
  // invariant asks after every step at the server, and most of those steps never reach the
  // client (walking its two dozen locks each time was 2% of the HA hour, issue 13, callgrind).
  const std::vector<std::int64_t>& held_lock_hashes() const {
    if (held_stale_) {
      held_hashes_.clear();
      for_each_held_lock_hash([this](std::int64_t hash) { held_hashes_.push_back(hash); });
      held_stale_ = false;
    }
    return held_hashes_;
  }

 private:
  enum class Op : std::uint8_t { list, create, check, remove };
  struct Pending {
    Op op = Op::list;
    std::string lock;
    std::string path;  // a delete's node, sent again if the connection is lost first
    STAMPEDE_FIELDS(op, lock, path)
  };
  struct LockState {
    bool wanted = false;
    bool held = false;
    bool busy = false;     // a request of the recipe is in flight
    std::string node;      // our lock node's full path, once known
    std::string watching;  // the predecessor we wait on
    bool try_only = false;  // try_lock: give up rather than wait
    // The protected name prefix of our create, from its first attempt until its node is known
    // (every retry of one create uses the same prefix).
    std::string protect;
    // A create was in flight when the connection was lost: whether it was applied is unknown,
    // so the next attempt lists the directory for `protect` before creating again.
    bool create_unknown = false;
    // lock_name_hash of the lock's name, kept when the lock is taken (0 until then): the lock
    // invariant asks for it after every step at the server (probe zk.held_lock) and would
    // otherwise hash the name again each time. Derived from the map's key, so not state.
    Untracked<std::int64_t> name_hash;
    STAMPEDE_FIELDS(wanted, held, busy, node, watching, try_only, protect, create_unknown,
                    name_hash)
  };
  // Everything the client knows is lost with its process.
  struct Volatile {
    SessionState state = SessionState::disconnected;
    std::int64_t session = 0;
    DurationNs timeout_ns = 0;
    int server_index = 0;
    NodeId server = k_no_node;
    std::int64_t conn = 0;
    std::uint32_t gen = 0;  // bumped on every change of connection; stale timers carry an old one
    TimeNs last_heard = 0;
    std::int64_t next_xid = 0;
    std::int64_t expirations = 0;
    std::int64_t creates = 0;  // numbers the protected prefixes (Curator draws a UUID)
    std::map<std::int64_t, Pending> pending;
    // Shared by the client's copies until one writes (sim/core/cow.hpp): the locks change at few
    // of the server's steps, and copying their strings with every saved copy of an HA server
    // and back was 2% of known bug (b)'s plain dfs (callgrind).
    Cow<std::map<std::string, LockState>> locks;
    std::set<std::string> to_delete;  // released while disconnected
    STAMPEDE_FIELDS(state, session, timeout_ns, server_index, server, conn, gen, last_heard,
                    next_xid, expirations, creates, pending, locks, to_delete)
  };
  // Given at construction, or read at start (the same on every start): not state.
  struct Config {
    int ensemble = 0;
    DurationNs requested_ns = 0;  // 0 until start: zk_session_timeout
    std::vector<NodeId> servers;
  };

  template <class T>
  std::uint64_t tag() const {
    return timer_tag::encode(T{vol_.gen});
  }
  void connect(Ctx& ctx);
  void connection_lost(Ctx& ctx);
  void session_expired(Ctx& ctx);
  void schedule_reconnect(Ctx& ctx);
  void on_connected(Ctx& ctx);
  void on(Ctx& ctx, const ClientConnectTimer& t);
  void on(Ctx& ctx, const ClientReconnectTimer& t);
  void on(Ctx& ctx, const ClientPingTimer& t);
  void on(Ctx& ctx, const ClientReadTimer& t);
  void on(Ctx& ctx, const ClientConnected& m);
  void on(Ctx& ctx, const ClientExpired& m);
  void on(Ctx& ctx, const ClientClosed& m);
  void on(Ctx& ctx, const ClientPong& m);
  void on(Ctx& ctx, const ClientResponse& m);
  void on(Ctx& ctx, const ClientWatch& m);
  void on_list(Ctx& ctx, const std::string& name, LockState& l, const ResponseBody& r);
  void on_create(Ctx& ctx, const std::string& name, LockState& l, const ResponseBody& r);
  void found_own_create(Ctx& ctx, const std::string& name, LockState& l,
                        const std::vector<std::string>& children);
  void step(Ctx& ctx, const std::string& name);
  void send_create(Ctx& ctx, const std::string& name, LockState& l);
  void send_remove(Ctx& ctx, const std::string& path, const std::string& lock);
  std::int64_t send_request(Ctx& ctx, ReqOp op, const std::string& path, std::int64_t flags,
                            bool watch, Pending p);
  std::string dir_of(const std::string& name) const { return "/locks/" + name; }

  Config cfg_;
  Callbacks cb_;
  Volatile vol_;
  // held_lock_hashes(), and whether vol_ may have changed since it was found: every entry point
  // that is not const sets the flag. A cache derived from vol_, so not state; a copy of the
  // client copies it with the state it was found from.
  mutable std::vector<std::int64_t> held_hashes_;
  mutable bool held_stale_ = true;
};

// A node that embeds a ZkClient and forwards the client's zk.* probes to it unchanged
// (CattleServer). zk.lock_mutual_exclusion reads such a node's locks from the client itself,
// which answers as the probes would, in one walk instead of one probe per held lock: asking
// each held lock by index cost 7% of the HA hour (issue 13, callgrind).
class EmbedsZkClient {
 public:
  // The embedded client, or nullptr when the node has none (its zk.* probes answer nullopt).
  virtual const ZkClient* embedded_zk_client() const = 0;

 protected:
  ~EmbedsZkClient() = default;
};

}  // namespace stampede::zk
