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
#include "sim/core/state.hpp"

namespace stampede::cm {

class ManagerNode final : public Node {
 public:
  // The local Cattle server's process stands in as a flag that tests set; a crash of the
  // manager leaves it as it was.
  struct Durable {
    bool server_up = true;
    STAMPEDE_FIELDS(server_up)
  };

  explicit ManagerNode(Config config);
  // A copy asks its own flag, not the original's, whether the local server is up.
  ManagerNode(const ManagerNode& other);
  ManagerNode& operator=(const ManagerNode&) = delete;

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(manager_, durable_); }
  std::string_view message_name(std::uint32_t type) const override { return type_name(type); }
  std::unique_ptr<Node> clone() const override { return std::make_unique<ManagerNode>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(manager_, durable_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, manager_, durable_);
  }

  const ClusterManager& manager() const { return manager_; }
  // The local Cattle server's process: up unless a test stops it.
  void set_server_up(bool up) { durable_.server_up = up; }

 private:
  void bind_hooks();

  ClusterManager manager_;
  Durable durable_;
};

// A ManagerNode for server-<index> of `cluster` (see config_for), for a world that has no Cattle
// server to embed the manager in.
std::unique_ptr<ManagerNode> make_manager_node(const ClusterSpec& cluster, int index);

}  // namespace stampede::cm
