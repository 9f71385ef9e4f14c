// Extension point: storage. Domain operations, not SQL. Called on the storage instance's strand; blocking
// work runs on the context's blocking pool and every callback completes on the storage's strand (use
// Context::offload); callers bind their callbacks to their own strand (see InstanceRef).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/instance.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

enum class RuleWriteMode {
  upsert,           // insert rules without an id or with an unknown id, update the others
  replace_project,  // also delete the project's rules that the write does not name
  replace_all,      // also delete every rule the write does not name
};

// What routing needs of a rule, without the customer card: loaded at start into the core's index.
struct RuleKeys {
  std::int64_t id = 0;
  std::string project;
  std::array<std::string, 3> callers_normalised;
  std::vector<std::string> operators;
};

// A batch of rules (and optionally their notes) written in one transaction: all or nothing.
struct RuleWrite {
  std::vector<Rule> rules;   // id 0: a new rule; otherwise the rule with that id (created if missing)
  std::vector<Note> notes;   // inserted unless an identical note (rule, saved_at, operator, text) exists
  RuleWriteMode mode = RuleWriteMode::upsert;
  std::string project;       // for replace_project
};

struct RuleWriteSummary {
  std::uint64_t added = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t removed = 0;
  std::uint64_t notes_added = 0;
  std::uint64_t notes_unchanged = 0;
  std::vector<RuleKeys> written;  // every rule of the write as stored (ids assigned), for the index
  std::vector<std::int64_t> removed_ids;
};

struct RuleQuery {
  std::string text;               // matched (case-insensitively) in company, company id, city, note
  std::string number_normalised;  // matched against the three normalised numbers
  std::optional<std::string> project;
  std::size_t offset = 0;
  std::size_t limit = 50;
};

// Domain operations; rules delete no notes ("never lose a note"): a note outlives its rule.
class Storage : public Instance {
 public:
  static constexpr Category category = Category::storage;

  // Rules and customers
  virtual void load_rule_keys(ResultCallback<std::vector<RuleKeys>> done) = 0;
  virtual void get_rules(std::vector<std::int64_t> ids, ResultCallback<std::vector<Rule>> done) = 0;
  // Every rule, or the project's ("" = the rules without a project), ordered by id.
  virtual void list_rules(std::optional<std::string> project, ResultCallback<std::vector<Rule>> done) = 0;
  virtual void search_rules(RuleQuery query, ResultCallback<std::vector<Rule>> done) = 0;
  virtual void write_rules(RuleWrite write, ResultCallback<RuleWriteSummary> done) = 0;
  virtual void delete_rule(std::int64_t rule_id, Completion done) = 0;

  // Notes history
  virtual void add_note(Note note, ResultCallback<Note> done) = 0;
  // Newest first.
  virtual void notes_for(std::int64_t rule_id, ResultCallback<std::vector<Note>> done) = 0;
  // The notes of the project's rules (every note when nothing is given), ordered by rule, then saved_at.
  virtual void list_notes(std::optional<std::string> project, ResultCallback<std::vector<Note>> done) = 0;

  // Call log: append-only, sequence assigned by storage; durable when `done` reports success.
  virtual void append_calls(std::vector<CallRecord> records, ResultCallback<std::vector<CallRecord>> done) = 0;
  // Records with sequence > after_sequence, oldest first, at most `limit`.
  virtual void read_calls(std::uint64_t after_sequence, std::size_t limit,
                          ResultCallback<std::vector<CallRecord>> done) = 0;
  // Deletes records with sequence <= through_sequence; returns how many.
  virtual void delete_calls_through(std::uint64_t through_sequence, ResultCallback<std::uint64_t> done) = 0;

  // Agents and SA groups
  virtual void load_agents(ResultCallback<std::vector<Agent>> done) = 0;
  virtual void save_agent(Agent agent, ResultCallback<Agent> done) = 0;
  virtual void remove_agent(std::string name, Completion done) = 0;
  virtual void load_groups(ResultCallback<std::vector<SaGroup>> done) = 0;
  virtual void save_group(SaGroup group, Completion done) = 0;

  // Missed calls (unanswered-call policy)
  virtual void add_missed(MissedCall call, ResultCallback<MissedCall> done) = 0;
  virtual void list_missed(std::optional<std::string> agent_extension, ResultCallback<std::vector<MissedCall>> done) = 0;
  virtual void mark_missed_done(std::int64_t id, Completion done) = 0;

  // Audit of PBX commands
  virtual void append_audit(std::vector<AuditRecord> records, Completion done) = 0;
};

}  // namespace switchboard::sdk
