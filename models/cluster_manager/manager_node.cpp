#include "models/cluster_manager/manager_node.hpp"

namespace stampede::cm {

ManagerNode::ManagerNode(Config config) : manager_(std::move(config)) {
  bind_hooks();
}

ManagerNode::ManagerNode(const ManagerNode& other)
    : Node(other), manager_(other.manager_), durable_(other.durable_) {
  bind_hooks();
}

void ManagerNode::bind_hooks() {
  manager_.set_hooks({[this] { return durable_.server_up; }});
}

void ManagerNode::on_start(Ctx& ctx) {
  manager_.start(ctx);
}

void ManagerNode::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (ClusterManager::owns_message(msg.type)) manager_.on_message(ctx, from, msg);
}

void ManagerNode::on_timer(Ctx& ctx, std::uint64_t tag) {
  if (ClusterManager::owns_timer(tag)) manager_.on_timer(ctx, tag);
}

void ManagerNode::on_crash() {
  manager_.crash();
}

bool ManagerNode::on_fault(Ctx& ctx, const ModelFault& fault) {
  return manager_.on_fault(ctx, fault);
}

std::optional<std::int64_t> ManagerNode::probe(std::string_view key, std::string_view arg) const {
  return manager_.probe(key, arg);
}

std::unique_ptr<ManagerNode> make_manager_node(const ClusterSpec& cluster, int index) {
  return std::make_unique<ManagerNode>(config_for(cluster, index));
}

}  // namespace stampede::cm
