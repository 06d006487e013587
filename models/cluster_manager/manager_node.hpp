#pragma once
// A node that runs a ClusterManager alone, standing in for a Cattle server in HA mode whose
// local server is a flag: for testing the manager on an engine before it is embedded in the
// Cattle server node. It shows how an owner routes the manager's messages, timers and faults.
#include <memory>
#include <optional>
#include <string_view>

#include "models/cluster_manager/cluster_manager.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"

namespace stampede::cm {

class ManagerNode final : public Node {
 public:
  explicit ManagerNode(Config config);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override { return type_name(type); }

  const ClusterManager& manager() const { return manager_; }
  // The local Cattle server's process: up unless a test stops it.
  void set_server_up(bool up) { server_up_ = up; }

 private:
  ClusterManager manager_;
  bool server_up_ = true;
};

// A ManagerNode for server-<index> of `cluster` (see config_for), for a world that has no Cattle
// server to embed the manager in.
std::unique_ptr<ManagerNode> make_manager_node(const ClusterSpec& cluster, int index);

}  // namespace stampede::cm
