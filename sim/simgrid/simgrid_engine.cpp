#include "sim/simgrid/simgrid_engine.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <stdexcept>

#include "sim/core/assert.hpp"
#include "sim/core/recording_ctx.hpp"
#include "sim/simgrid/engine_parts.hpp"
#include "sim/simgrid/time_convert.hpp"

namespace stampede {

namespace {

// SimGrid 3.32 keeps its engine in process-wide state that a second s4u::Engine does not reset
// (the clock and the models stay as the first run left them): one SimGrid run per process.
bool g_simgrid_engine_created = false;

}  // namespace

class SimgridEngine::NodeCtx final : public RecordingCtx {
 public:
  NodeCtx(SimgridEngine& e, NodeId id)
      : RecordingCtx(id, e.recorder_, e.options_.timings, e.options_.mechanisms,
                     e.options_.keep_debug_logs),
        e_(e),
        id_(id) {}
  TimeNs now() const override { return e_.now() + e_.nodes_[id_]->skew_ns; }
  NodeId self() const override { return id_; }
  std::uint32_t stream_connection() const override { return stream_connection_; }
  NodeId lookup(std::string_view name) const override { return e_.find(name); }
  std::string_view name_of(NodeId id) const override { return e_.node_name(id); }

  void send(NodeId to, Message msg) override {
    STAMPEDE_ASSERT(to < e_.nodes_.size(), "send to an unknown node");
    if (msg.transport == Transport::stream && to != id_) {
      e_.send_stream(id_, to, std::move(msg));
      return;
    }
    Network& net = *e_.network_;
    if (!net.reachable(id_, to)) return;  // lost on the cut link
    if (net.sample_drop(*e_.chooser_)) return;
    int copies = net.sample_duplicate(*e_.chooser_) ? 2 : 1;
    // A message to a node that is down would be lost with it (the kernel drops it on arrival).
    if (!e_.nodes_[to]->up) return;
    for (int i = 0; i < copies; ++i) {
      Envelope env;
      env.from = id_;
      env.to = to;
      env.epoch = e_.nodes_[to]->epoch;
      env.msg = msg;
      e_.send_envelope(id_, std::move(env));
    }
  }

  void close_connection(NodeId to) override {
    STAMPEDE_ASSERT(to < e_.nodes_.size() && to != id_, "close a connection to an unknown node");
    if (!e_.connections_.close(id_, to, e_.network_->reachable(id_, to))) return;
    Envelope fin = segment(EnvelopeKind::event, id_, to);
    fin.epoch = e_.nodes_[to]->epoch;
    fin.generation = e_.connections_.generation(id_, to);
    e_.send_envelope(id_, std::move(fin));
  }

  TimerId set_timer(DurationNs after, std::uint64_t tag) override {
    STAMPEDE_ASSERT(after >= 0, "a timer cannot fire in the past");
    NodeSlot& s = *e_.nodes_[id_];
    TimeNs due = e_.now() + after;
    TimerId id = e_.next_timer_++;
    s.timers.emplace(id, std::make_pair(due, tag));
    s.timer_queue.emplace(due, id);
    if (!e_.in_main_actor(s)) e_.notify(id_);  // its wait must be cut shorter
    return id;
  }

  void cancel_timer(TimerId id) override {
    NodeSlot& s = *e_.nodes_[id_];
    auto it = s.timers.find(id);
    if (it == s.timers.end()) return;
    s.timer_queue.erase({it->second.first, id});
    s.timers.erase(it);
  }

  void exit_process(const std::function<bool(std::uint64_t)>& keeps_timer) override {
    NodeSlot& s = *e_.nodes_[id_];
    for (auto it = s.timers.begin(); it != s.timers.end();) {
      if (keeps_timer && keeps_timer(it->second.second)) {
        ++it;
        continue;
      }
      s.timer_queue.erase({it->second.first, it->first});
      it = s.timers.erase(it);
    }
  }

  std::int64_t random(std::int64_t lo, std::int64_t hi) override {
    return e_.chooser_->uniform(ChoiceKind::model, lo, hi);
  }

  TimeNs record_time() const override { return e_.now(); }

  // What stream_connection() answers: the engine sets it around on_message and on_connection.
  std::uint32_t stream_connection_ = 0;

 private:
  SimgridEngine& e_;
  NodeId id_;
};

SimgridEngine::SimgridEngine(Options options, Chooser* chooser)
    : options_(std::move(options)),
      network_(std::make_unique<Network>(options_.network)),
      connections_(Connections::from(options_.mechanisms)) {
  if (g_simgrid_engine_created)
    throw std::logic_error(
        "the SimGrid engine runs once per process (SimGrid 3.32 cannot start its engine again)");
  g_simgrid_engine_created = true;
  if (chooser == nullptr) {
    own_chooser_ = std::make_unique<SeededChooser>(options_.seed);
    chooser_ = own_chooser_.get();
  } else {
    chooser_ = chooser;
  }
  assert_context().seed = options_.seed;
  assert_context().step = 0;
  changes_.enable();  // finish_step, kill, restart and model_fault record every change

  // CM02 takes the platform's latencies and bandwidths literally (no LV08 correction factors),
  // without TCP window limits or the cross traffic of acknowledgements, so a scenario's 2ms is
  // 2ms. SimGrid's own messages are silenced: errors reach the user as InputError instead.
  static std::vector<std::string> args = {"stampede",
                                          "--log=root.thresh:critical",
                                          "--cfg=network/model:CM02",
                                          "--cfg=network/TCP-gamma:0",
                                          "--cfg=network/crosstraffic:0",
                                          std::string("--cfg=") + sg::k_precision_cfg};
  static std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  sg_engine_ = new sg4::Engine(&argc, argv.data());
  controller_ = std::make_unique<Controller>();
  if (options_.platform.file) sg::load_platform_file(*options_.platform.file);
}

SimgridEngine::~SimgridEngine() {
  // Actors still wait on semaphores that SimGrid refuses to destroy while in use: a last actor
  // kills them all first. Then every handle goes before the engine that owns it. The transfers
  // that SimGrid fails on the way find the run stopped and leave the connections alone.
  stopped_ = true;
  if (started_ && controller_ && controller_->actor && controller_->host->is_on()) {
    sg4::Actor::create("stampede-cleanup", controller_->host, [] { sg4::Actor::kill_all(); });
    sg_engine_->run_until(sg4::Engine::get_clock() + 1e-6);
  }
  for (auto& s : nodes_) {
    s->main = nullptr;
    s->wake = nullptr;
    s->receivers.clear();
  }
  controller_.reset();
  links_.reset();
  delete sg_engine_;
}

NodeId SimgridEngine::add_node(std::string name, std::unique_ptr<Node> node) {
  STAMPEDE_ASSERT(!started_, "nodes are added before the run starts");
  STAMPEDE_ASSERT(find(name) == k_no_node, "node names are unique");
  NodeId id = static_cast<NodeId>(nodes_.size());
  auto slot = std::make_unique<NodeSlot>();
  // A platform file is there already: a node without a host fails now, before the run.
  if (options_.platform.file) slot->host = sg::resolve_host(options_.platform, name);
  slot->name = std::move(name);
  slot->node = std::move(node);
  slot->ctx = std::make_unique<NodeCtx>(*this, id);
  nodes_.push_back(std::move(slot));
  network_->add_node();
  return id;
}

void SimgridEngine::start_platform() {
  started_ = true;
  std::vector<std::string> names;
  for (const auto& s : nodes_) names.push_back(s->name);
  if (options_.platform.file) {
    sg::check_host_map(options_.platform, names);
    controller_->host = sg::add_controller_host();
  } else {
    controller_->host = sg::build_star_platform(names, options_.network,
                                                options_.platform.bandwidth_bytes_per_s);
    for (auto& s : nodes_) s->host = sg4::Host::by_name(s->name);
  }
  std::vector<sg4::Host*> hosts;
  for (auto& s : nodes_) hosts.push_back(s->host);
  if (options_.platform.file) sg::check_routes(*options_.platform.file, hosts);
  links_ = std::make_unique<sg::LinkStates>(hosts);
  links_->sync(*network_);
  synced_network_version_ = network_->version();

  // The controller first, so that faults at 0 run before the nodes start, as in the kernel.
  controller_->wake = sg4::Semaphore::create(0);
  controller_->actor = sg4::Actor::create("stampede-controller", controller_->host,
                                          [this] { controller_main(); });
  controller_->pid = controller_->actor->get_pid();
  for (auto& s : nodes_) {
    s->receivers.assign(nodes_.size(), nullptr);
    s->mailboxes.assign(nodes_.size(), nullptr);
  }
  for (NodeId id = 0; id < nodes_.size(); ++id)
    if (nodes_[id]->up) spawn_main(id);
}

void SimgridEngine::spawn_main(NodeId id) {
  NodeSlot& s = *nodes_[id];
  s.wake = sg4::Semaphore::create(0);
  s.wake_pending = false;
  std::uint32_t epoch = s.epoch;
  s.main = sg4::Actor::create(s.name, s.host, [this, id, epoch] { node_main(id, epoch); });
  s.main_pid = s.main->get_pid();
}

bool SimgridEngine::in_main_actor(const NodeSlot& s) const {
  return s.main && sg4::this_actor::get_pid() == s.main_pid;
}

void SimgridEngine::notify(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (!s.wake || s.wake_pending) return;
  s.wake_pending = true;
  s.wake->release();
}

void SimgridEngine::node_main(NodeId id, std::uint32_t epoch) {
  NodeSlot& s = *nodes_[id];
  try {
    StepInfo info;
    info.time_ns = now();
    info.kind = StepKind::start;
    info.node = id;
    finish_step(info);
    s.node->on_start(*s.ctx);
    after_step(info);
    while (!stopped_ && s.epoch == epoch) {
      flush_outbox(id);
      if (s.paused_until_ns > now()) {
        // Suspended by pause(); should SimGrid still wake it, it waits for the resume.
        s.wake->acquire();
        s.wake_pending = false;
        continue;
      }
      if (take_one_step(s, id)) continue;
      if (s.timer_queue.empty()) {
        s.wake->acquire();
        s.wake_pending = false;
        continue;
      }
      double wait_s = sg::to_seconds(s.timer_queue.begin()->first) - sg4::Engine::get_clock();
      if (wait_s <= 0) continue;  // due now: the next round takes it
      if (!s.wake->acquire_timeout(wait_s)) s.wake_pending = false;
    }
  } catch (const std::exception&) {
    fail(std::current_exception());
  }
}

bool SimgridEngine::take_one_step(NodeSlot& s, NodeId id) {
  const TimeNs t = now();
  const bool has_arrival = !s.inbox.empty();
  const bool has_timer = !s.timer_queue.empty() && s.timer_queue.begin()->first <= t;
  if (!has_arrival && !has_timer) return false;
  bool take_timer = has_timer;
  if (has_arrival && has_timer) {
    // Oldest first (after a pause both kinds wait); a tie goes through the Chooser.
    TimeNs m = s.inbox.front().at_ns;
    TimeNs d = s.timer_queue.begin()->first;
    take_timer = d < m || (d == m && chooser_->pick(ChoiceKind::order, 2) == 0);
  }
  StepInfo info;
  info.time_ns = t;
  info.node = id;
  if (take_timer) {
    TimerId timer = s.timer_queue.begin()->second;
    std::uint64_t tag = s.timers.at(timer).second;
    s.timer_queue.erase(s.timer_queue.begin());
    s.timers.erase(timer);
    info.kind = StepKind::timer;
    info.detail = tag;
    finish_step(info);
    s.node->on_timer(*s.ctx, tag);
  } else if (!take_arrival(s, id, info)) {
    return true;
  }
  after_step(info);
  return true;
}

bool SimgridEngine::take_arrival(NodeSlot& s, NodeId id, StepInfo& info) {
  Arrival a = std::move(s.inbox.front());
  s.inbox.pop_front();
  if (a.kind == StepKind::connection) return take_connection(s, id, a, info);
  // A stream message held for retransmission is in the inbox only once it has crossed the link
  // (arrive_stream): it arrived, and a cut since loses nothing.
  const bool arrived = a.generation != 0 && connections_.retransmits();
  if (!arrived && !network_->reachable(a.from, id)) return false;  // cut while it waited
  // As in the kernel: what travelled on a connection that was reset since is lost.
  if (a.generation != 0 && !connections_.live(a.from, id, a.generation)) return false;
  info.kind = StepKind::deliver;
  info.from = a.from;
  info.msg_type = a.msg.type;
  info.detail = a.msg.digest();
  ++messages_delivered_;
  finish_step(info);
  s.ctx->stream_connection_ = a.generation;  // 0 for a datagram
  s.node->on_message(*s.ctx, a.from, a.msg);
  s.ctx->stream_connection_ = 0;
  return true;
}

bool SimgridEngine::take_connection(NodeSlot& s, NodeId id, const Arrival& a, StepInfo& info) {
  if (a.local) {
    // Raised by the node's own TCP (Connections::time_out): nothing travelled.
  } else if (a.event == ConnectionEvent::closed) {
    if (!connections_.awaits(id, a.from, a.generation)) return false;  // closed it itself
    const bool arrives = network_->reachable(a.from, id);
    connections_.notice_done(id, a.from, a.generation, arrives);
    if (!arrives) return false;  // cut while it travelled or waited: broken, silently
  } else if (!network_->reachable(a.from, id)) {
    return false;
  }
  info.kind = StepKind::connection;
  info.from = a.from;
  info.detail = static_cast<std::uint64_t>(a.event);
  finish_step(info);
  s.ctx->stream_connection_ = a.generation;
  s.node->on_connection(*s.ctx, a.from, a.event);
  s.ctx->stream_connection_ = 0;
  return true;
}

void SimgridEngine::receiver_main(NodeId to, NodeId from) {
  sg4::Mailbox* mailbox = nodes_[to]->mailboxes[from];
  while (!stopped_) {
    Envelope* raw = nullptr;
    try {
      raw = mailbox->get<Envelope>();
    } catch (const simgrid::Exception&) {
      continue;  // the sender's host went down or a link was cut under the transfer: lost
    }
    std::unique_ptr<Envelope> env(raw);
    if (stopped_) return;
    receive(std::move(env));
  }
}

void SimgridEngine::ensure_receiver(NodeId to, NodeId from) {
  NodeSlot& s = *nodes_[to];
  if (s.receivers[from]) return;
  if (s.mailboxes[from] == nullptr)
    s.mailboxes[from] = sg4::Mailbox::by_name(fmt::format("{}>{}", from, to));
  s.receivers[from] = sg4::Actor::init(fmt::format("{}<{}", s.name, nodes_[from]->name), s.host)
                          ->set_stacksize(k_small_stack_bytes)
                          ->start([this, to, from] { receiver_main(to, from); });
  // A permanent receiver makes every put start its transfer at once (eager mode), instead of
  // waiting in the mailbox until the receiver asks for it.
  s.mailboxes[from]->set_receiver(s.receivers[from]);
}

void SimgridEngine::flush_outbox(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (s.outbox.empty()) return;
  std::vector<Envelope> out = std::move(s.outbox);
  s.outbox.clear();
  for (Envelope& env : out) put(std::move(env));
}

void SimgridEngine::finish_step(StepInfo& info) {
  changes_.step(info.node, info.kind == StepKind::fault || info.kind == StepKind::check);
  info.index = ++step_index_;
  assert_context().step = step_index_;
  rolling_hash_ = fold_step(rolling_hash_, info);
  info.rolling_hash = rolling_hash_;
}

void SimgridEngine::after_step(const StepInfo& info) {
  // Recorded again at the step's end. A step that makes a simcall (a timer set outside the
  // node's main actor wakes it through a semaphore; killing a node kills its actor) lets other
  // actors run their steps, and their observers read the log, before this one is done; the
  // entry made when it began is then consumed, and without a second one a reader would never see
  // the rest of the step.
  changes_.step(info.node, info.kind == StepKind::fault || info.kind == StepKind::check);
  for (StepObserver* o : observers_) o->on_step(info);
  for (StepObserver* o : observers_)
    if (o->stop_requested()) stop_all();
}

void SimgridEngine::stop_all() {
  if (stopped_) return;
  stopped_at_ns_ = now();
  stopped_ = true;
  // Every other actor dies; the caller returns from its loop, seeing stopped_.
  sg4::Actor::kill_all();
}

void SimgridEngine::fail(std::exception_ptr e) {
  if (!error_) error_ = e;
  stop_all();
}

void SimgridEngine::run_until(TimeNs until_ns) {
  if (!started_) start_platform();
  reported_now_ns_.reset();
  if (!stopped_) sg_engine_->run_until(sg::to_seconds(until_ns) + sg::k_until_slack_s);
  if (error_) std::rethrow_exception(error_);
  if (!stopped_) reported_now_ns_ = std::max(sg::to_ns(sg4::Engine::get_clock()), until_ns);
}

TimeNs SimgridEngine::now() const {
  if (stopped_) return stopped_at_ns_;
  if (reported_now_ns_) return *reported_now_ns_;
  return sg::to_ns(sg4::Engine::get_clock());
}

void SimgridEngine::crash(NodeId id) { kill(id, true); }

void SimgridEngine::restart(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (s.up || !s.powered) return;
  changes_.node(id);
  s.up = true;
  ++s.epoch;
  if (!started_) return;
  spawn_main(id);
}

// The SimGrid host stays on, and so do its receivers: the connection table makes the loss of
// power silent (no FIN, no refusal; what the node had sent on an open connection is lost when it
// arrives), as in the kernel. Turning the host off would also fail what was already on the wire
// from it, which the kernel delivers.
void SimgridEngine::power_off(NodeId id) {
  kill(id, false);
  nodes_[id]->powered = false;
}

void SimgridEngine::power_on(NodeId id) {
  nodes_[id]->powered = true;
  restart(id);
}

void SimgridEngine::pause(NodeId id, DurationNs for_ns) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  s.paused_until_ns = std::max(s.paused_until_ns, now() + for_ns);
  if (s.main && !s.main->is_suspended()) s.main->suspend();
  Action a;
  a.time_ns = s.paused_until_ns;
  a.rank = 0;
  a.kind = StepKind::resume;
  a.node = id;
  a.epoch = s.epoch;
  schedule(std::move(a));
}

void SimgridEngine::set_clock_skew(NodeId id, DurationNs skew_ns) { nodes_[id]->skew_ns = skew_ns; }

bool SimgridEngine::model_fault(const ModelFault& f) {
  changes_.everything();
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    NodeSlot& s = *nodes_[id];
    if (!s.up) continue;
    bool taken = s.node->on_fault(*s.ctx, f);
    notify(id);  // it may have set timers or sent messages that its main actor must see
    if (taken) return true;
  }
  return false;
}

std::string_view SimgridEngine::node_name(NodeId id) const { return nodes_[id]->name; }

NodeId SimgridEngine::find(std::string_view name) const {
  for (NodeId id = 0; id < nodes_.size(); ++id)
    if (nodes_[id]->name == name) return id;
  return k_no_node;
}

bool SimgridEngine::is_up(NodeId id) const { return nodes_[id]->up; }
const Node& SimgridEngine::node(NodeId id) const { return *nodes_[id]->node; }

std::uint64_t SimgridEngine::digest() const {
  return world_digest(rolling_hash_, step_index_, *this);
}

std::size_t SimgridEngine::links_off() const { return links_ ? links_->links_off() : 0; }

std::string SimgridEngine::host_of(NodeId id) const {
  return nodes_[id]->host ? nodes_[id]->host->get_name() : std::string();
}

}  // namespace stampede
