// HA: the schema migration every Cattle process runs at boot, under Liquibase's changelog lock.
//
// rancher/cattle v0.165.8 runs Liquibase 3.1.0 (code/meta-parent/pom.xml lines 258-260) from the
// Spring bean `liquibase-core` (code/packaging/app-config/src/main/resources/META-INF/cattle/
// system/spring-system-context.xml lines 22-25), io.cattle.platform.liquibase.Loader
// (code/framework/db-loader/src/main/java/io/cattle/platform/liquibase/Loader.java): before
// anything else of the server starts, it takes the lock row of DATABASECHANGELOGLOCK, runs the
// changesets the database has not had, and releases the row. Liquibase's StandardLockService
// .waitForLock reads LOCKED; while it is set by someone else it logs "Waiting for changelog
// lock...." and tries again every poll (10 s by default) until the wait (5 min by default) is
// over, then throws "Could not acquire change log lock. Currently locked by ..." (the exception
// and its line, StandardLockService.java:168 of liquibase-core 3.1.0, are in the stack traces of
// rancher/rancher#6057). The Spring context then fails and the process exits; Docker restarts it
// (lifecycle.cpp). A process that dies while it holds the row leaves it set: no expiry exists.
//
// Loader.java lines 27 and 46-57: with the property db.release.change.lock=true (the environment
// variable CATTLE_DB_RELEASE_CHANGE_LOCK=true) it deletes the lock rows before Liquibase runs;
// unset, it does so only for embedded databases (H2, HSQLDB, Derby), not MySQL. That is the
// mechanism cattle_db_release_change_lock, off as in a default install.
//
// Liquibase works on a connection of its own data source, "liquibase" (Loader.java lines 35-38;
// models/cattle/server.cpp, the constructor, says how it is pooled): the migration opens it
// first, before the server's pool, and closes it when done, as SpringLiquibase's finally block
// does, on success and on failure alike. A refused or lost connection fails the boot as Liquibase's
// DatabaseException does. The release's DELETE goes through the jOOQ configuration over the
// server's pool in Cattle (line 56, getConfiguration()); here it goes through Liquibase's
// connection, so with that mechanism on the pool's first connection opens after the migration
// rather than before it.
//
// Liquibase takes the row with one statement, UPDATE ... SET LOCKED = 1 WHERE ID = 1 AND LOCKED
// = 0, and counts the rows it changed; the model reads the row and then writes it, so two
// servers whose boots fall within one round trip of each other could both take it (the HA
// servers' staggered starts keep them apart).
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

namespace {

constexpr std::string_view k_lock_table = "databasechangeloglock";
constexpr mysql::RowId k_lock_row = 1;

mysql::Row lock_row(bool locked, const std::string& by) {
  return mysql::Row{{"locked", locked ? "1" : "0"}, {"lockedby", by}};
}

}  // namespace

void CattleServer::start_migration(Ctx& ctx) {
  volatile_.changelog_deadline_ns = ctx.now() + cfg_.changelog_lock_wait_ns;
  if (cfg_.release_change_lock) {
    // Loader.java line 56: DELETE FROM DATABASECHANGELOGLOCK; Liquibase's init puts an unlocked
    // row back.
    mysql::WriteBatch release;
    release.erase(std::string(k_lock_table), k_lock_row);
    liquibase_db_->commit(ctx, std::move(release), [](Ctx&, const mysql::DbResult&) {});
  }
  try_changelog_lock(ctx);
}

void CattleServer::try_changelog_lock(Ctx& ctx) {
  liquibase_db_->select_id(
      ctx, std::string(k_lock_table), k_lock_row,
      [this](Ctx& c, const mysql::DbResult& r) { on_changelog_lock_read(c, r); });
}

void CattleServer::on_changelog_lock_read(Ctx& ctx, const mysql::DbResult& result) {
  if (!result.ok()) return boot_failed(ctx, mysql::format_error(*result.error));
  const mysql::Row* row = result.rows.empty() ? nullptr : &result.rows.front().second;
  if (row != nullptr && row->count("locked") != 0 && row->at("locked") == "1") {
    if (ctx.now() >= volatile_.changelog_deadline_ns) {
      std::string by = row->count("lockedby") != 0 ? row->at("lockedby") : "UNKNOWN";
      return boot_failed(
          ctx, fmt::format("Could not acquire change log lock.  Currently locked by {}", by));
    }
    ctx.event(LogLevel::info, Event("cattle.changelog_lock_waiting"),
              "Waiting for changelog lock....");
    ctx.set_timer(cfg_.changelog_lock_poll_ns, timer_tag::encode(ChangelogLockPoll{}));
    return;
  }
  mysql::WriteBatch take;
  take.put(std::string(k_lock_table), k_lock_row, lock_row(true, std::string(ctx.name_of(ctx.self()))));
  liquibase_db_->commit(ctx, std::move(take), [this](Ctx& c, const mysql::DbResult& r) {
    on_changelog_lock_taken(c, r);
  });
}

void CattleServer::on_changelog_lock_taken(Ctx& ctx, const mysql::DbResult& result) {
  if (!result.ok()) return boot_failed(ctx, mysql::format_error(*result.error));
  ctx.log(LogLevel::info, "Successfully acquired change log lock");
  ctx.set_timer(cfg_.changelog_update_ns, timer_tag::encode(ChangelogUpdateDone{}));
}

void CattleServer::on(Ctx& ctx, const ChangelogLockPoll&) {
  if (!volatile_.migrated) try_changelog_lock(ctx);
}

void CattleServer::on(Ctx& ctx, const ChangelogUpdateDone&) {
  mysql::WriteBatch release;
  release.put(std::string(k_lock_table), k_lock_row, lock_row(false, ""));
  liquibase_db_->commit(ctx, std::move(release), [this](Ctx& c, const mysql::DbResult& r) {
    if (!r.ok()) return boot_failed(c, mysql::format_error(*r.error));
    c.log(LogLevel::info, "Successfully released change log lock");
    c.set_timer(0, timer_tag::encode(MigrationDone{}));
  });
}

void CattleServer::on(Ctx& ctx, const MigrationDone&) {
  // SpringLiquibase closes its connection, and the data source's pool (maxIdle 0) destroys it.
  volatile_.migrated = true;
  liquibase_db_->close_pool(ctx);
  open_ha_pool(ctx);
}

void CattleServer::on_liquibase_pool_event(Ctx& ctx, mysql::PoolEvent event) {
  switch (event) {
    case mysql::PoolEvent::opened:
      if (!volatile_.migrated) start_migration(ctx);
      return;
    case mysql::PoolEvent::refused:
    case mysql::PoolEvent::lost: {
      // getConnection() failed (SpringLiquibase.java line 296): the context fails.
      const auto& err = liquibase_db_->last_error();
      return boot_failed(ctx, err ? mysql::format_error(*err) : std::string("no connection"));
    }
  }
}

void CattleServer::boot_failed(Ctx& ctx, std::string why) {
  // A second failure of the same boot (the lost connection under a failed statement) exits once.
  if (volatile_.boot_failed) return;
  volatile_.boot_failed = true;
  // Liquibase's LockException (or the database error under it) fails the Spring context. The
  // exit waits for a timer: the database client that reported the error is still on the stack.
  ctx.event(LogLevel::notable, Event("cattle.boot_failed").with("why", why),
            fmt::format("startup failed: {}", why));
  ctx.set_timer(0, timer_tag::encode(BootFailed{}));
}

void CattleServer::on(Ctx& ctx, const BootFailed&) { exit_process(ctx); }

}  // namespace stampede::cattle
