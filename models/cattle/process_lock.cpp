// HA: the process instance's lock (mechanism cattle_process_lock). Cattle 1.1 runs every process
// instance under the lock PROCESS.INSTANCE.<id> (rancher/cattle v0.165.8 code/framework/engine/
// src/main/java/io/cattle/platform/engine/process/impl/ProcessLock.java:8-10), taken first in
// DefaultProcessInstanceImpl.execute (DefaultProcessInstanceImpl.java:102-112); the resource's
// own lock is taken inside it (acquireLockAndRun, lines 239-251, the in-memory lock of
// process_engine.cpp here). ProcessLock is a plain AbstractLockDefinition, not a
// BlockingLockDefinition, so StandardLock has no wait and only tries the lock (code/framework/
// lock/src/main/java/io/cattle/platform/lock/provider/impl/StandardLock.java:27-29 and 83-89). In
// HA the lock provider is ZooKeeper's (code/packaging/app-config/src/main/resources/META-INF/
// cattle/system-services/spring-zookeeper-context-override.xml:5, ZookeeperLockProvider.java:
// 30-39): the try is Curator's InterProcessMutex.acquire(0) (InterProcessMutextLockWrapper.java:
// 31-46), the recipe's try_lock in models/zookeeper.
//
// Why it matters in HA: every server's replay task runs every process instance whose end time is
// not set, every 15 s (ProcessReplayTask.java:14-17, ProcessServerImpl.java:15-19,
// JooqProcessRecordDao.java:81-86: END_TIME is null, whichever server created it and whether or
// not a server is running it). A process that one server is running (waiting for an agent's
// answer, say) is therefore tried by the others' replays, and only this lock keeps them out: a
// try that finds another holder throws FailedToAcquireLockException, which execute turns into
// the exit PROCESS_ALREADY_IN_PROGRESS (DefaultProcessInstanceImpl.java:110-112), an exit that is
// neither an error nor terminating (ExitReason.java:12): ProcessEventListenerImpl.processExecute
// counts it and logs nothing (ProcessEventListenerImpl.java:80-85), and the process row is left
// as it was for the next replay.
//
// Single mode: the lock provider is the in-JVM InMemoryLockProvider (a ReentrantLock per name,
// InMemoryLockProvider.java:9-12, spring-system-services-context.xml:526). One server runs
// there, and a process it is already running is not run again (run_process's check of
// `running`), which is what the in-JVM lock does; the model takes no lock there.
#include <fmt/format.h>

#include "models/cattle/server.hpp"

namespace stampede::cattle {

namespace {

constexpr std::string_view k_process_lock_prefix = "PROCESS.INSTANCE.";

std::string process_lock_name(ProcessId pi) {
  return fmt::format("{}{}", k_process_lock_prefix, pi.value);
}

}  // namespace

std::optional<ProcessId> process_of_lock(const std::string& lock) {
  if (!lock.starts_with(k_process_lock_prefix)) return std::nullopt;
  return ProcessId{std::stoll(lock.substr(k_process_lock_prefix.size()))};
}

bool CattleServer::process_lock_wait(Ctx& ctx, ProcessId pi) {
  if (!cm_ || !zk_ || !cfg_.process_lock) return false;
  std::map<ProcessId, bool>& locks = volatile_.process_locks.locks;
  auto it = locks.find(pi);
  if (it != locks.end()) return !it->second;  // held: run; tried: wait
  locks[pi] = false;
  zk_->try_lock(ctx, process_lock_name(pi));
  return true;
}

void CattleServer::process_lock_answer(Ctx& ctx, ProcessId pi, bool acquired) {
  std::map<ProcessId, bool>& locks = volatile_.process_locks.locks;
  auto it = locks.find(pi);
  if (!acquired) {
    if (it != locks.end() && !it->second) locks.erase(it);
    const ProcessRow* p = row<ProcessRow>(pi);
    std::string process = p == nullptr ? std::string() : p->process;
    ctx.event(LogLevel::info,
              Event("cattle.process_in_progress")
                  .with("process", process)
                  .with("process_id", fmt::format("{}", pi.value)),
              fmt::format("process {} ({}) is running elsewhere: PROCESS_ALREADY_IN_PROGRESS", pi,
                          process));
    // The service's work waited for this answer (ha.cpp, service_work_check): it may end now,
    // and its lock go back, as the reconcile's finally does (LockManagerImpl.java:34-43).
    service_work_check(ctx, service_lock_of(pi));
    return;
  }
  if (it == locks.end() || it->second) {
    // Granted after this server stopped wanting it (its process ended meanwhile): give it back.
    if (it == locks.end()) zk_->unlock(ctx, process_lock_name(pi));
    return;
  }
  it->second = true;
  run_process(ctx, pi);
  // The process did not start here (it is done already, or its service's lock is not held): the
  // lock goes back at once, as the LockManager's finally does (LockManagerImpl.java:34-43).
  if (volatile_.running.count(pi) == 0) {
    release_process_lock(ctx, pi);
    service_work_check(ctx, service_lock_of(pi));
  }
}

void CattleServer::release_process_lock(Ctx& ctx, ProcessId pi) {
  std::map<ProcessId, bool>& locks = volatile_.process_locks.locks;
  auto it = locks.find(pi);
  if (it == locks.end() || !it->second) return;
  locks.erase(it);
  if (zk_) zk_->unlock(ctx, process_lock_name(pi));
}

}  // namespace stampede::cattle
