// Extension point: storage. Domain operations, not SQL. Blocking work runs on the context's blocking pool;
// every callback completes on the calling instance's strand (use Context::offload).
#pragma once

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
  upsert,           // insert new ids, update existing ones
  replace_project,  // delete the project's rules first (the project given with the call), then insert
  replace_all,      // delete every rule first
};

class Storage : public Instance {
 public:
  static constexpr Category category = Category::storage;

  // Rules and customers
  virtual void load_rules(ResultCallback<std::vector<Rule>> done) = 0;
  // All-or-nothing: either every rule is written, or none is. Returns the rules as stored (ids assigned).
  virtual void save_rules(std::vector<Rule> rules, RuleWriteMode mode, std::string project,
                          ResultCallback<std::vector<Rule>> done) = 0;
  virtual void delete_rule(std::int64_t rule_id, Completion done) = 0;

  // Notes history
  virtual void add_note(Note note, ResultCallback<Note> done) = 0;
  virtual void notes_for(std::int64_t rule_id, ResultCallback<std::vector<Note>> done) = 0;

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
