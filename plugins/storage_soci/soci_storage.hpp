// Storage `soci`: rules, notes, call log, agents and groups in SQLite (embedded default) or PostgreSQL
// (shared), chosen by the connection string. The strand side: lifecycle, and handing every operation to
// the host's blocking pool (database.hpp does the SQL) and its result back to the strand.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "database.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::plugins {

class SociStorage final : public sdk::Storage {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  SociStorage(sdk::Context& context, const sdk::Settings& settings);
  ~SociStorage() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;

  void load_rule_keys(sdk::ResultCallback<std::vector<sdk::RuleKeys>> done) override;
  void get_rules(std::vector<std::int64_t> ids, sdk::ResultCallback<std::vector<sdk::Rule>> done) override;
  void list_rules(std::optional<std::string> project, sdk::ResultCallback<std::vector<sdk::Rule>> done) override;
  void search_rules(sdk::RuleQuery query, sdk::ResultCallback<std::vector<sdk::Rule>> done) override;
  void write_rules(sdk::RuleWrite write, sdk::ResultCallback<sdk::RuleWriteSummary> done) override;
  void delete_rule(std::int64_t rule_id, sdk::Completion done) override;

  void add_note(sdk::Note note, sdk::ResultCallback<sdk::Note> done) override;
  void notes_for(std::int64_t rule_id, sdk::ResultCallback<std::vector<sdk::Note>> done) override;
  void list_notes(std::optional<std::string> project, sdk::ResultCallback<std::vector<sdk::Note>> done) override;

  void append_calls(std::vector<sdk::CallRecord> records, sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override;
  void read_calls(std::uint64_t after_sequence, std::size_t limit,
                  sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override;
  void delete_calls_through(std::uint64_t through_sequence, sdk::ResultCallback<std::uint64_t> done) override;

  void load_agents(sdk::ResultCallback<std::vector<sdk::Agent>> done) override;
  void save_agent(sdk::Agent agent, sdk::ResultCallback<sdk::Agent> done) override;
  void remove_agent(std::string name, sdk::Completion done) override;
  void load_groups(sdk::ResultCallback<std::vector<sdk::SaGroup>> done) override;
  void save_group(sdk::SaGroup group, sdk::Completion done) override;

  void add_missed(sdk::MissedCall call, sdk::ResultCallback<sdk::MissedCall> done) override;
  void list_missed(std::optional<std::string> agent_extension,
                   sdk::ResultCallback<std::vector<sdk::MissedCall>> done) override;
  void mark_missed_done(std::int64_t id, sdk::Completion done) override;

  void append_audit(std::vector<sdk::AuditRecord> records, sdk::Completion done) override;

  // Not part of sdk::Storage: what every pooled session runs with (WAL, synchronous, busy timeout;
  // synchronous_commit), read back from the database. For tests and diagnostics.
  void session_settings(sdk::ResultCallback<std::vector<soci_storage::SessionSettings>> done);

 private:
  enum class State { created, starting, running, start_failed, stopping, stopped };

  // Everything completions touch, shared with them so that a completion arriving after the instance is
  // gone finds its callback already cancelled instead of a dangling `this`.
  struct Shared {
    State state = State::created;
    std::shared_ptr<soci_storage::Database> database;
    std::optional<sdk::Status> start_result;
    std::vector<sdk::Completion> start_waiters, stop_waiters;
    std::uint64_t next_ticket = 0;
    std::map<std::uint64_t, std::function<void(sdk::Error)>> pending;  // ticket → cancel
  };

  // Runs `work(Database&)` on the blocking pool; its result (or the failure, described as
  // "cannot <doing> in <database>: …") reaches `done` on the strand, unless stop() cancelled it first.
  template <class Outcome, class Work>
  void submit(const char* doing, std::function<void(Outcome)> done, Work work);
  // For operations that return nothing: Status instead of Result<T>.
  template <class Work>
  void submit_status(const char* doing, sdk::Completion done, Work work);
  void cancel_pending(const std::string& why);

  sdk::Context& context_;
  soci_storage::ConnectionTarget target_;
  std::size_t pool_size_;
  std::string invalid_connection_;  // set when the connection could not be parsed
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

void register_soci_storage(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
