#include "models/zookeeper/data_tree.hpp"

#include <fmt/format.h>

namespace stampede::zk {

std::uint64_t Txn::digest() const {
  Digest d;
  d.add(static_cast<std::uint64_t>(op)).add(path).add_signed(session).add_signed(flags);
  d.add_signed(timeout_ns).add(expired ? 1 : 0).add_signed(origin_sid).add(client);
  d.add_signed(client_conn).add_signed(xid);
  if (probe) d.add(0x5A50);  // only when set, so logs without probe writes digest as before
  if (expired) d.add_signed(expired_at_ns);
  return d.value();
}

std::uint64_t entry_digest(const LoggedTxn& e) {
  Digest d;
  d.add_signed(e.zxid).add(e.txn ? e.txn->digest() : 0);
  return d.value();
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

DataTree::DataTree() {
  nodes_["/"] = Znode{};
}

std::vector<std::string> DataTree::children(const std::string& path) const {
  std::vector<std::string> out;
  std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
    const std::string& p = it->first;
    if (p.compare(0, prefix.size(), prefix) != 0) break;
    if (p.size() == prefix.size()) continue;
    std::string rest = p.substr(prefix.size());
    if (rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;  // the map is sorted, so are the names
}

std::int64_t DataTree::session_timeout(std::int64_t session) const {
  auto it = sessions_.find(session);
  return it == sessions_.end() ? 0 : it->second;
}

std::int64_t DataTree::ephemeral_owner(const std::string& path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? 0 : it->second.ephemeral_owner;
}

void DataTree::remove_node(const std::string& path, ApplyResult& r) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  if (it->second.ephemeral_owner != 0) {
    auto e = ephemerals_->find(it->second.ephemeral_owner);
    if (e != ephemerals_->end()) {
      e->second.erase(path);
      if (e->second.empty()) ephemerals_->erase(e);
    }
  }
  nodes_.erase(it);
  r.deleted.push_back(path);
}

ApplyResult DataTree::apply(const Txn& t) {
  ApplyResult r;
  switch (t.op) {
    case TxnOp::create_session:
      sessions_[t.session] = t.timeout_ns;
      return r;
    case TxnOp::close_session: {
      auto e = ephemerals_->find(t.session);
      if (e != ephemerals_->end()) {
        std::set<std::string> paths = e->second;  // remove_node edits the index
        for (const auto& p : paths) remove_node(p, r);
      }
      sessions_.erase(t.session);
      if (t.expired) expired_at_[t.session] = t.expired_at_ns;
      return r;
    }
    case TxnOp::create: {
      if ((t.flags & k_ephemeral) && !session_live(t.session)) {
        r.code = Code::session_expired;
        return r;
      }
      std::string parent = parent_of(t.path);
      if (!exists(parent)) {
        if (!(t.flags & k_parents)) {
          r.code = Code::no_node;
          return r;
        }
        std::vector<std::string> missing;
        for (std::string p = parent; !exists(p); p = parent_of(p)) missing.push_back(p);
        for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
          nodes_[*it] = Znode{};
          r.created.push_back(*it);
        }
      }
      std::string name = t.path;
      if (t.flags & k_sequential) {
        name += fmt::format("{:010d}", nodes_[parent].next_sequence++);
      }
      if (exists(name)) {
        r.code = Code::node_exists;
        return r;
      }
      Znode z;
      if (t.flags & k_ephemeral) {
        z.ephemeral_owner = t.session;
        ephemerals_.value[t.session].insert(name);
      }
      nodes_[name] = z;
      r.created.push_back(name);
      r.path = name;
      return r;
    }
    case TxnOp::remove: {
      if (!exists(t.path) || t.path == "/") {
        r.code = Code::no_node;
        return r;
      }
      if (!children(t.path).empty()) {
        r.code = Code::not_empty;
        return r;
      }
      remove_node(t.path, r);
      return r;
    }
  }
  return r;
}

}  // namespace stampede::zk
