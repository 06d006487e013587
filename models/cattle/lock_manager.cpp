#include "models/cattle/lock_manager.hpp"

#include <algorithm>

namespace stampede::cattle {

bool LockManager::try_acquire(const std::string& lock, Owner owner) {
  LockState& s = locks_[lock];
  if (!s.holder || *s.holder == owner) {
    s.holder = owner;
    return true;
  }
  if (std::find(s.waiters.begin(), s.waiters.end(), owner) == s.waiters.end())
    s.waiters.push_back(owner);
  return false;
}

std::optional<LockManager::Owner> LockManager::release(const std::string& lock, Owner owner) {
  auto it = locks_.find(lock);
  if (it == locks_.end() || it->second.holder != owner) return std::nullopt;
  LockState& s = it->second;
  s.holder.reset();
  if (s.waiters.empty()) {
    locks_.erase(it);
    return std::nullopt;
  }
  s.holder = s.waiters.front();
  s.waiters.pop_front();
  return s.holder;
}

void LockManager::give_up(const std::string& lock, Owner owner) {
  auto it = locks_.find(lock);
  if (it == locks_.end()) return;
  auto& w = it->second.waiters;
  w.erase(std::remove(w.begin(), w.end(), owner), w.end());
}

std::optional<LockManager::Owner> LockManager::holder(const std::string& lock) const {
  auto it = locks_.find(lock);
  return it == locks_.end() ? std::nullopt : it->second.holder;
}

int LockManager::max_holders() const {
  int m = 0;
  for (const auto& [name, s] : locks_) m = std::max(m, s.holder ? 1 : 0);
  return m;
}

}  // namespace stampede::cattle
