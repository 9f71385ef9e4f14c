#include "soci_storage.hpp"

#include <utility>

namespace switchboard::plugins {

using soci_storage::Database;

namespace {

const char* refusal_for(bool stopped) { return stopped ? "the storage is stopped" : "the storage is not started"; }

}  // namespace

sdk::ConfigSchema SociStorage::schema() {
  sdk::ConfigSchema s;
  s.add("connection", sdk::ValueType::string)
      .default_value("sqlite3://var/switchboard.db")
      .doc("Where the data lives, and so which backend. `sqlite3://PATH`: an SQLite file (a relative path starts at "
           "the working directory; a missing parent folder is created). `postgresql://KEYWORDS`: a libpq keyword "
           "string such as `postgresql://host=db1 port=5432 dbname=switchboard user=switchboard`; the password "
           "goes in `password`, never here.");
  s.add("password", sdk::ValueType::string)
      .secret()
      .doc("PostgreSQL password, added to the connection when it is opened and redacted in every print and log. "
           "Write it as `${ENV}` to keep it out of the file. Not used by SQLite.");
  s.add("pool_size", sdk::ValueType::integer)
      .range(1, 64)
      .default_value(4)
      .doc("Database sessions kept open. More operations than this at once wait for a free session; more sessions "
           "than `runtime.blocking_threads` gain nothing.");
  s.add("busy_timeout", sdk::ValueType::duration)
      .range(0, 3600000)
      .default_value("5s")
      .doc("SQLite: how long a write waits for another connection's lock before it fails with \"database is "
           "locked\". Not used by PostgreSQL.");
  return s;
}

void SociStorage::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  auto parsed = soci_storage::parse_connection(settings.string("connection"));
  if (!parsed.target) {
    diag.error(settings, "connection", parsed.problem);
    return;
  }
  if (parsed.target->backend == soci_storage::Backend::sqlite3 && settings.has("password"))
    diag.error(settings, "password", "`password` is used only by postgresql:// connections; remove it");
}

SociStorage::SociStorage(sdk::Context& context, const sdk::Settings& settings)
    : context_(context), pool_size_(static_cast<std::size_t>(settings.integer("pool_size"))) {
  auto parsed = soci_storage::parse_connection(settings.string("connection"));
  if (parsed.target) {
    target_ = std::move(*parsed.target);
    target_.password = settings.string_or("password", "");
    target_.busy_timeout = settings.duration("busy_timeout");
  } else {
    invalid_connection_ = parsed.problem;  // the host validates first; kept for callers that do not
  }
}

SociStorage::~SociStorage() {
  cancel_pending("the storage was destroyed before stop() completed");
  if (shared_->database) shared_->database->close();
}

void SociStorage::start(sdk::Completion done) {
  auto& shared = *shared_;
  switch (shared.state) {
    case State::running:
    case State::start_failed:
      done(*shared.start_result);
      return;
    case State::starting:
      shared.start_waiters.push_back(std::move(done));
      return;
    case State::stopping:
    case State::stopped:
      done(sdk::make_error(sdk::ErrorCode::unavailable, refusal_for(true)));
      return;
    case State::created:
      break;
  }
  if (!invalid_connection_.empty()) {
    shared.state = State::start_failed;
    shared.start_result = sdk::make_error(sdk::ErrorCode::invalid_argument, "connection: " + invalid_connection_);
    context_.logger().error("storage start failed error=\"{}\"", shared.start_result->error().message);
    done(*shared.start_result);
    return;
  }
  shared.state = State::starting;
  shared.start_waiters.push_back(std::move(done));
  context_.logger().info("storage starting backend={} database=\"{}\" pool_size={}", to_string(target_.backend),
                         target_.display(), pool_size_);
  using Opened = sdk::Result<std::shared_ptr<Database>>;
  context_.offload(
      [target = target_, pool_size = pool_size_]() -> Opened {
        try {
          return std::make_shared<Database>(target, pool_size);
        } catch (...) {
          return soci_storage::describe_open_failure(target);
        }
      },
      [weak = std::weak_ptr<Shared>(shared_), context = &context_](Opened opened) {
        auto shared = weak.lock();
        if (!shared || shared->state != State::starting) {
          // Stopped while opening: close off the strand what nobody will use.
          if (shared && opened.ok()) context->run_blocking([database = opened.value()] { database->close(); });
          return;
        }
        if (opened.ok()) {
          shared->database = opened.value();
          shared->state = State::running;
          shared->start_result = sdk::Status::success();
          const auto& migration = shared->database->migration();
          context->logger().info("storage started schema_version={} migrated_from={}", migration.version_after,
                                 migration.version_before);
        } else {
          shared->state = State::start_failed;
          shared->start_result = opened.error();
          context->logger().error("storage start failed error=\"{}\"", opened.error().message);
        }
        auto waiters = std::exchange(shared->start_waiters, {});
        for (auto& waiter : waiters) waiter(*shared->start_result);
      });
}

void SociStorage::stop(sdk::Completion done) {
  auto& shared = *shared_;
  if (shared.state == State::stopped) {
    done(sdk::Status::success());
    return;
  }
  shared.stop_waiters.push_back(std::move(done));
  if (shared.state == State::stopping) return;
  shared.state = State::stopping;
  cancel_pending("the storage is stopping");
  auto finish = [](Shared& stopped_shared, sdk::Logger& logger) {
    stopped_shared.state = State::stopped;
    logger.info("storage stopped");
    auto waiters = std::exchange(stopped_shared.stop_waiters, {});
    for (auto& waiter : waiters) waiter(sdk::Status::success());
  };
  auto database = std::move(shared.database);
  if (!database) {
    finish(shared, context_.logger());
    return;
  }
  // Closing waits for operations already running on the pool, so it happens off the strand.
  context_.offload(
      [database = std::move(database)] {
        database->close();
        return true;
      },
      [weak = std::weak_ptr<Shared>(shared_), finish, logger = &context_.logger()](bool) {
        if (auto stopped_shared = weak.lock()) finish(*stopped_shared, *logger);
      });
}

void SociStorage::cancel_pending(const std::string& why) {
  auto& shared = *shared_;
  auto pending = std::exchange(shared.pending, {});
  for (auto& [ticket, cancel] : pending) cancel(sdk::make_error(sdk::ErrorCode::cancelled, why));
  if (!shared.start_waiters.empty()) {
    shared.start_result = sdk::make_error(sdk::ErrorCode::cancelled, why);
    auto waiters = std::exchange(shared.start_waiters, {});
    for (auto& waiter : waiters) waiter(*shared.start_result);
  }
}

template <class Outcome, class Work>
void SociStorage::submit(const char* doing, std::function<void(Outcome)> done, Work work) {
  auto& shared = *shared_;
  if (shared.state != State::running) {
    done(sdk::make_error(sdk::ErrorCode::unavailable,
                         refusal_for(shared.state == State::stopping || shared.state == State::stopped)));
    return;
  }
  auto ticket = shared.next_ticket++;
  shared.pending.emplace(ticket, [done](sdk::Error error) { done(std::move(error)); });
  context_.offload(
      // mutable: a work item may consume what it captured (the call records it appends), it runs once.
      [database = shared.database, work = std::move(work), doing]() mutable -> Outcome {
        try {
          return work(*database);
        } catch (...) {
          return soci_storage::describe_failure(doing, database->target());
        }
      },
      [weak = std::weak_ptr<Shared>(shared_), ticket, done = std::move(done)](Outcome outcome) {
        auto shared = weak.lock();
        if (!shared || shared->pending.erase(ticket) == 0) return;  // already cancelled by stop()
        done(std::move(outcome));
      });
}

template <class Work>
void SociStorage::submit_status(const char* doing, sdk::Completion done, Work work) {
  submit<sdk::Status>(doing, std::move(done), [work = std::move(work)](Database& database) -> sdk::Status {
    work(database);
    return sdk::Status::success();
  });
}

// ----- operations ------------------------------------------------------------------------------------

void SociStorage::load_rule_keys(sdk::ResultCallback<std::vector<sdk::RuleKeys>> done) {
  submit("load the rule keys", std::move(done), [](Database& db) { return db.load_rule_keys(); });
}

void SociStorage::get_rules(std::vector<std::int64_t> ids, sdk::ResultCallback<std::vector<sdk::Rule>> done) {
  submit("read rules", std::move(done), [ids = std::move(ids)](Database& db) { return db.get_rules(ids); });
}

void SociStorage::list_rules(std::optional<std::string> project, sdk::ResultCallback<std::vector<sdk::Rule>> done) {
  submit("list rules", std::move(done),
         [project = std::move(project)](Database& db) { return db.list_rules(project); });
}

void SociStorage::search_rules(sdk::RuleQuery query, sdk::ResultCallback<std::vector<sdk::Rule>> done) {
  submit("search rules", std::move(done), [query = std::move(query)](Database& db) { return db.search_rules(query); });
}

void SociStorage::write_rules(sdk::RuleWrite write, sdk::ResultCallback<sdk::RuleWriteSummary> done) {
  submit("write rules", std::move(done), [write = std::move(write), now = context_.clock().now()](Database& db) {
    return db.write_rules(write, now);
  });
}

void SociStorage::delete_rule(std::int64_t rule_id, sdk::Completion done) {
  submit_status("delete a rule", std::move(done), [rule_id](Database& db) { db.delete_rule(rule_id); });
}

void SociStorage::add_note(sdk::Note note, sdk::ResultCallback<sdk::Note> done) {
  submit("add a note", std::move(done),
         [note = std::move(note), now = context_.clock().now()](Database& db) { return db.add_note(note, now); });
}

void SociStorage::notes_for(std::int64_t rule_id, sdk::ResultCallback<std::vector<sdk::Note>> done) {
  submit("read notes", std::move(done), [rule_id](Database& db) { return db.notes_for(rule_id); });
}

void SociStorage::list_notes(std::optional<std::string> project, sdk::ResultCallback<std::vector<sdk::Note>> done) {
  submit("list notes", std::move(done),
         [project = std::move(project)](Database& db) { return db.list_notes(project); });
}

void SociStorage::append_calls(std::vector<sdk::CallRecord> records,
                               sdk::ResultCallback<std::vector<sdk::CallRecord>> done) {
  submit("append to the call log", std::move(done),
         [records = std::move(records)](Database& db) mutable { return db.append_calls(std::move(records)); });
}

void SociStorage::read_calls(std::uint64_t after_sequence, std::size_t limit,
                             sdk::ResultCallback<std::vector<sdk::CallRecord>> done) {
  submit("read the call log", std::move(done),
         [after_sequence, limit](Database& db) { return db.read_calls(after_sequence, limit); });
}

void SociStorage::delete_calls_through(std::uint64_t through_sequence, sdk::ResultCallback<std::uint64_t> done) {
  submit("delete from the call log", std::move(done),
         [through_sequence](Database& db) { return db.delete_calls_through(through_sequence); });
}

void SociStorage::load_agents(sdk::ResultCallback<std::vector<sdk::Agent>> done) {
  submit("load agents", std::move(done), [](Database& db) { return db.load_agents(); });
}

void SociStorage::save_agent(sdk::Agent agent, sdk::ResultCallback<sdk::Agent> done) {
  submit("save an agent", std::move(done), [agent = std::move(agent)](Database& db) { return db.save_agent(agent); });
}

void SociStorage::remove_agent(std::string name, sdk::Completion done) {
  submit_status("remove an agent", std::move(done), [name = std::move(name)](Database& db) { db.remove_agent(name); });
}

void SociStorage::load_groups(sdk::ResultCallback<std::vector<sdk::SaGroup>> done) {
  submit("load SA groups", std::move(done), [](Database& db) { return db.load_groups(); });
}

void SociStorage::save_group(sdk::SaGroup group, sdk::Completion done) {
  submit_status("save an SA group", std::move(done), [group = std::move(group)](Database& db) { db.save_group(group); });
}

void SociStorage::add_missed(sdk::MissedCall call, sdk::ResultCallback<sdk::MissedCall> done) {
  submit("add a missed call", std::move(done), [call = std::move(call)](Database& db) { return db.add_missed(call); });
}

void SociStorage::list_missed(std::optional<std::string> agent_extension,
                              sdk::ResultCallback<std::vector<sdk::MissedCall>> done) {
  submit("list missed calls", std::move(done),
         [agent_extension = std::move(agent_extension)](Database& db) { return db.list_missed(agent_extension); });
}

void SociStorage::mark_missed_done(std::int64_t id, sdk::Completion done) {
  submit_status("mark a missed call done", std::move(done), [id](Database& db) { db.mark_missed_done(id); });
}

void SociStorage::append_audit(std::vector<sdk::AuditRecord> records, sdk::Completion done) {
  submit_status("append to the audit", std::move(done),
                [records = std::move(records)](Database& db) { db.append_audit(records); });
}

void SociStorage::session_settings(sdk::ResultCallback<std::vector<soci_storage::SessionSettings>> done) {
  submit("read the session settings", std::move(done), [](Database& db) { return db.session_settings(); });
}

void register_soci_storage(sdk::Registrar& registrar) {
  registrar.add<SociStorage>("soci", "Rules, notes, call log and agents in SQLite (embedded) or PostgreSQL (shared).");
}

}  // namespace switchboard::plugins
