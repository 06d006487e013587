#include "models/mysql/database.hpp"

#include <algorithm>
#include <atomic>

#include "sim/core/assert.hpp"

namespace stampede::mysql {

std::string to_text(std::int64_t v) { return std::to_string(v); }

RowId Transaction::insert(std::string table, Row row) {
  RowId placeholder = next_placeholder_--;
  writes_.push_back(Write{Write::Kind::insert, std::move(table), placeholder, std::move(row)});
  return placeholder;
}

void Transaction::update(std::string table, RowId id, std::string column, std::string value) {
  Row one;
  one.emplace(std::move(column), std::move(value));
  writes_.push_back(Write{Write::Kind::update, std::move(table), id, std::move(one)});
}

void Transaction::erase(std::string table, RowId id) {
  writes_.push_back(Write{Write::Kind::erase, std::move(table), id, {}});
}

void Transaction::put(std::string table, RowId id, Row row) {
  STAMPEDE_ASSERT(id > 0, "a put names a real row id");
  writes_.push_back(Write{Write::Kind::put, std::move(table), id, std::move(row)});
}

Database::Database(int max_connections) : max_connections_(max_connections) {
  // databasechangeloglock: Liquibase's lock table, which Cattle's schema migration takes at
  // every boot (models/cattle/migration.cpp).
  for (const char* t : {"stack", "service", "instance", "host", "network", "process_instance",
                        "setting", "databasechangeloglock"})
    tables_.add(t);
  // The columns the Cattle model looks rows up by (Database::where) on its hot paths: a host by
  // its name at every ping reply, a host's and a service's instances, a resource's processes.
  const std::pair<const char*, const char*> indexed[] = {
      {"host", "name"},          {"instance", "host_id"}, {"instance", "service_id"},
      {"service", "stack_id"},   {"stack", "name"},       {"setting", "name"},
      {"process_instance", "resource_id"}};
  for (const auto& [table, column] : indexed)
    tables_.write(table)->indexes->emplace(column, ColumnIndex{});
  // Cattle's schema declares these constraints; they are what makes TRUNCATE refuse with the
  // checks on.
  foreign_keys_ = std::vector<ForeignKey>{
      {"service", "stack_id", "stack"},
      {"instance", "service_id", "service"},
      {"instance", "host_id", "host"},
      {"instance", "network_id", "network"},
  };
}

void Database::add_table(std::string name) {
  tables_.add(std::move(name));
}

Database::TableMap& Database::Tables::own_map() {
  memo_valid_ = false;  // the caller is about to change the map
  if (map_.use_count() > 1) map_ = std::make_shared<TableMap>(*map_);
  return *map_;
}

Database::TableState* Database::Tables::write(std::string_view name) {
  auto it = map_->find(name);
  if (it == map_->end()) return nullptr;
  if (map_.use_count() > 1) it = own_map().find(name);
  if (it->second.use_count() > 1) it->second = std::make_shared<TableState>(*it->second);
  // The caller is about to change the table: its digest words are then stale.
  it->second->digest_words->valid = false;
  memo_valid_ = false;
  return it->second.get();
}

Database::TableState& Database::Tables::add(std::string name) {
  // Not moved into the map: write() looks the table up by this name next.
  if (map_->find(name) == map_->end()) own_map().emplace(name, std::make_shared<TableState>());
  return *write(name);
}

void Database::Tables::digest_into(Digest& d) const {
  // Exactly as state::add digests a std::map<std::string, TableState>: the run digests pinned
  // before the tables were shared stay as they were.
  if (memo_valid_ && memo_in_ == d.value()) {
    d = Digest::resumed(memo_out_);
    return;
  }
  memo_in_ = d.value();
  d.add(static_cast<std::uint64_t>(map_->size()));
  for (const auto& [name, t] : *map_) {
    DigestWords& cache = t->digest_words.value;
    if (!cache.valid) fill_digest_words(name, *t);
    for (std::uint64_t w : cache.words) d.add(w);
  }
  memo_out_ = d.value();
  memo_valid_ = true;
}

void Database::Tables::fill_digest_words(std::string_view name, const TableState& t) {
  // The words state::add(d, name) and state::add(d, t) would fold in, in their order: the
  // name, then TableState's tracked fields (rows, a map of maps of strings, and next_id).
  // tests/models/test_mysql.cpp holds the two to the same digest.
  std::vector<std::uint64_t>& w = t.digest_words->words;
  w.clear();
  w.push_back(hash_bytes(name));
  w.push_back(static_cast<std::uint64_t>(t.rows.size()));
  for (const auto& [id, row] : t.rows) {
    w.push_back(static_cast<std::uint64_t>(id));
    w.push_back(static_cast<std::uint64_t>(row.size()));
    for (const auto& [column, value] : row) {
      w.push_back(hash_bytes(column));
      w.push_back(hash_bytes(value));
    }
  }
  w.push_back(static_cast<std::uint64_t>(t.next_id));
  t.digest_words->valid = true;
}

void Database::Tables::perturb_for_test() {
  // As state::change does to a map: a table with the empty name appears (or goes).
  TableMap& m = own_map();
  if (!m.try_emplace("", std::make_shared<TableState>()).second) m.erase("");
}

std::uint64_t Database::new_stamp() {
  // Atomic only because several runs may share the process (a sweep); the values never reach a
  // run's behaviour, only whether a reader's parsed copy is still good.
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Database::stamp(std::string_view name) const {
  const TableState* t = tables_.find(name);
  return t == nullptr ? 0 : t->stamp.value;
}

std::optional<DbError> Database::connect() {
  if (connections_ >= max_connections_) return DbError{k_error_too_many_connections,
                                                        "Too many connections"};
  ++connections_;
  return std::nullopt;
}

void Database::disconnect() {
  if (connections_ > 0) --connections_;
}

Database::TableState* Database::state(std::string_view name) {
  return tables_.write(name);
}

std::vector<RowId> Database::commit(Transaction& txn) {
  Transaction unused;
  return commit(txn, unused, false);
}

std::vector<RowId> Database::commit(Transaction& txn, Transaction& resolved) {
  return commit(txn, resolved, true);
}

void Database::unindex(TableState& t, RowId id) {
  auto row = t.rows.find(id);
  if (row == t.rows.end()) return;
  for (auto& [column, by_value] : t.indexes.value) {
    auto v = row->second.find(column);
    if (v == row->second.end()) continue;
    auto ids = by_value.find(v->second);
    if (ids == by_value.end()) continue;
    ids->second.erase(id);
    if (ids->second.empty()) by_value.erase(ids);
  }
}

void Database::index(TableState& t, RowId id) {
  auto row = t.rows.find(id);
  if (row == t.rows.end()) return;
  for (auto& [column, by_value] : t.indexes.value) {
    auto v = row->second.find(column);
    if (v != row->second.end()) by_value[v->second].insert(id);
  }
}

void Database::stamp_write(TableState& t, RowId id) {
  // A journal longer than this is cut by half: a reader that fell further behind parses the
  // whole table again, which then costs less than its catching up would.
  constexpr std::size_t k_journal_max = 512;
  Journal& j = t.journal;
  if (j.writes.size() >= k_journal_max) {
    const std::size_t cut = k_journal_max / 2;
    j.base = j.writes[cut - 1].first;
    j.writes.erase(j.writes.begin(), j.writes.begin() + static_cast<std::ptrdiff_t>(cut));
  }
  t.stamp = stamp_ = new_stamp();
  j.writes.emplace_back(t.stamp.value, id);
}

void Database::stamp_all(TableState& t) {
  t.stamp = stamp_ = new_stamp();
  t.journal = Journal{t.stamp.value, {}};
}

void Database::raise_next_ids(RowId floor) {
  // Only the tables whose counter moves are written (and so stop being shared).
  for (const auto& [name, t] : tables_.get())
    if (t->next_id < floor) tables_.write(name)->next_id = floor;
}

void Database::replace_rows(std::string_view name, std::vector<std::pair<RowId, Row>> rows) {
  // A read that brings back the rows the copy has changes nothing (the merge below writes no
  // row then): the table stays shared with the copies that hold it.
  if (const TableState* same = tables_.find(name);
      same != nullptr && same->rows.size() == rows.size() &&
      std::equal(rows.begin(), rows.end(), same->rows.begin(), [](const auto& a, const auto& b) {
        return a.first == b.first && a.second == b.second;
      }))
    return;
  TableState* t = state(name);
  STAMPEDE_ASSERT(t != nullptr, "a replica read a table the schema does not have");
  const bool ascending =
      std::adjacent_find(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return a.first >= b.first;
      }) == rows.end();
  if (!ascending) {
    // Rows in any order (or an id twice, of which the first counts): the table is built again.
    stamp_all(*t);
    t->rows.clear();
    for (auto& [column, by_value] : t->indexes.value) by_value.clear();
    for (auto& [id, row] : rows)
      if (t->rows.emplace(id, std::move(row)).second) index(*t, id);
    return;
  }
  // A read of a whole table (select_all answers in id order) mostly brings back the rows the copy
  // already has: the two id-ordered lists are merged and only the rows that differ are written,
  // each through the journal. The HA servers re-read every table at each replay tick and Redis
  // event; rebuilding the table, its indexes and every reader's parsed copy at each re-read was
  // a tenth of the HA hour (bench/RESULTS.md, session 22). The rows end up as the read gave them
  // either way.
  auto at = t->rows.begin();
  auto drop = [&](Table::iterator gone) {
    const RowId id = gone->first;
    unindex(*t, id);
    stamp_write(*t, id);
    return t->rows.erase(gone);
  };
  for (auto& [id, row] : rows) {
    while (at != t->rows.end() && at->first < id) at = drop(at);
    if (at != t->rows.end() && at->first == id) {
      if (at->second != row) {
        unindex(*t, id);
        at->second = std::move(row);
        index(*t, id);
        stamp_write(*t, id);
      }
      ++at;
      continue;
    }
    at = std::next(t->rows.emplace_hint(at, id, std::move(row)));
    index(*t, id);
    stamp_write(*t, id);
  }
  while (at != t->rows.end()) at = drop(at);
}

std::vector<RowId> Database::commit(Transaction& txn, Transaction& resolved, bool record) {
  // Placeholders are resolved as the inserts are applied, so that later writes of the same
  // transaction can refer to rows it inserted.
  std::map<RowId, RowId> real_id;
  std::vector<RowId> inserted;
  for (Transaction::Write& w : txn.writes_) {
    TableState* t = state(w.table);
    STAMPEDE_ASSERT(t != nullptr, "a transaction wrote to a table the schema does not have");
    RowId id = w.id;
    if (id < 0) {
      auto it = real_id.find(id);
      if (it != real_id.end()) id = it->second;
    }
    switch (w.kind) {
      case Transaction::Write::Kind::insert: {
        RowId fresh = t->next_id++;
        stamp_write(*t, fresh);
        real_id[w.id] = fresh;
        if (record) resolved.put(w.table, fresh, w.row);
        unindex(*t, fresh);
        t->rows[fresh] = std::move(w.row);
        index(*t, fresh);
        inserted.push_back(fresh);
        break;
      }
      case Transaction::Write::Kind::put:
        stamp_write(*t, id);
        if (record) resolved.put(w.table, id, w.row);
        unindex(*t, id);
        t->rows[id] = std::move(w.row);
        index(*t, id);
        break;
      case Transaction::Write::Kind::update: {
        stamp_write(*t, id);
        auto it = t->rows.find(id);
        if (it == t->rows.end()) break;
        unindex(*t, id);
        for (auto& [col, val] : w.row) {
          if (record) resolved.update(w.table, id, col, val);
          it->second[col] = val;
        }
        index(*t, id);
        break;
      }
      case Transaction::Write::Kind::erase:
        stamp_write(*t, id);
        if (record) resolved.erase(w.table, id);
        unindex(*t, id);
        t->rows.erase(id);
        break;
    }
  }
  txn.writes_.clear();
  return inserted;
}

const Table* Database::table(std::string_view name) const {
  const TableState* t = tables_.find(name);
  return t == nullptr ? nullptr : &t->rows;
}

const Row* Database::find(std::string_view table_name, RowId id) const {
  const Table* t = table(table_name);
  if (t == nullptr) return nullptr;
  auto it = t->find(id);
  return it == t->end() ? nullptr : &it->second;
}

std::string Database::get(std::string_view table_name, RowId id, std::string_view column) const {
  const Row* r = find(table_name, id);
  if (r == nullptr) return "";
  auto it = r->find(std::string(column));
  return it == r->end() ? "" : it->second;
}

std::int64_t Database::get_int(std::string_view table_name, RowId id,
                               std::string_view column) const {
  std::string v = get(table_name, id, column);
  return v.empty() ? 0 : std::stoll(v);
}

std::vector<RowId> Database::where(std::string_view table_name, std::string_view column,
                                   std::string_view value) const {
  std::vector<RowId> ids;
  const TableState* ts = tables_.find(table_name);
  if (ts == nullptr) return ids;
  const TableState& state = *ts;
  if (auto idx = state.indexes->find(column); idx != state.indexes->end()) {
    auto found = idx->second.find(value);
    if (found != idx->second.end()) ids.assign(found->second.begin(), found->second.end());
    return ids;
  }
  const Table* t = &state.rows;
  std::string col(column);
  for (const auto& [id, row] : *t) {
    auto it = row.find(col);
    if (it != row.end() && it->second == value) ids.push_back(id);
  }
  return ids;
}

std::optional<DbError> Database::truncate(const std::vector<std::string>& tables,
                                          bool foreign_key_checks) {
  for (const std::string& name : tables) {
    TableState* t = state(name);
    if (t == nullptr)
      return DbError{k_error_no_such_table, "Table 'cattle." + name + "' doesn't exist"};
    if (foreign_key_checks) {
      // MySQL refuses whenever another table declares a key to this one, rows or not.
      for (const ForeignKey& fk : *foreign_keys_)
        if (fk.references == name && fk.table != name)
          return DbError{k_error_truncate_referenced,
                         "Cannot truncate a table referenced in a foreign key constraint "
                         "(`cattle`.`" + fk.table + "`, CONSTRAINT `fk_" + fk.table + "__" +
                             fk.column + "`)"};
    }
    stamp_all(*t);
    t->rows.clear();
    for (auto& [column, by_value] : t->indexes.value) by_value.clear();
    t->next_id = 1;
  }
  return std::nullopt;
}

}  // namespace stampede::mysql
