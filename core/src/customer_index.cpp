#include "switchboard/core/customer_index.hpp"

#include <algorithm>

#include "switchboard/core/number_plan.hpp"

namespace switchboard::core {
namespace {

// Fibonacci hashing spreads sequential numbers and ids over the table.
inline std::size_t hash_of(std::uint64_t key, std::size_t mask) {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
}

constexpr std::size_t initial_capacity = 1024;  // a power of two

}  // namespace

CustomerIndex::CustomerIndex() { clear(); }

void CustomerIndex::clear() {
  entries_.clear();
  free_slots_.clear();
  number_table_.assign(initial_capacity, empty_ref);
  id_table_.assign(initial_capacity, no_slot);
  numbers_used_ = 0;
  rules_ = 0;
  projects_.clear();
  project_ids_.clear();
  operator_lists_.clear();
  operator_list_ids_.clear();
  intern_project("");
  intern_operators({});
}

void CustomerIndex::reserve(std::size_t rules) {
  entries_.reserve(rules);
  std::size_t want = initial_capacity;
  while (want * 3 < rules * 3 * 4) want *= 2;  // three numbers a rule at most 75% full
  if (want > number_table_.size()) {
    number_table_.resize(want);
    numbers_used_ = 0;
    std::fill(number_table_.begin(), number_table_.end(), empty_ref);
    for (std::uint32_t slot = 0; slot < entries_.size(); ++slot)
      for (std::uint32_t i = 0; i < 3; ++i)
        if (entries_[slot].numbers[i]) insert_number(entries_[slot].numbers[i], slot << 2 | i);
  }
  std::size_t want_ids = initial_capacity;
  while (want_ids * 3 < rules * 4) want_ids *= 2;
  if (want_ids > id_table_.size()) {
    id_table_.assign(want_ids, no_slot);
    for (std::uint32_t slot = 0; slot < entries_.size(); ++slot)
      if (entries_[slot].id != 0) insert_id(slot);  // free slots hold id 0, which storage never assigns
  }
}

std::uint32_t CustomerIndex::intern_project(const std::string& project) {
  auto [it, added] = project_ids_.emplace(project, static_cast<std::uint32_t>(projects_.size()));
  if (added) projects_.push_back(project);
  return it->second;
}

std::uint32_t CustomerIndex::intern_operators(const std::vector<std::string>& operators) {
  std::string key;
  for (const auto& o : operators) key += o + ';';
  auto [it, added] = operator_list_ids_.emplace(key, static_cast<std::uint32_t>(operator_lists_.size()));
  if (added) operator_lists_.push_back(operators);
  return it->second;
}

std::uint32_t CustomerIndex::slot_of(std::int64_t id) const {
  std::size_t mask = id_table_.size() - 1;
  for (std::size_t i = hash_of(static_cast<std::uint64_t>(id), mask);; i = (i + 1) & mask) {
    std::uint32_t slot = id_table_[i];
    if (slot == no_slot) return no_slot;
    if (entries_[slot].id == id) return slot;
  }
}

void CustomerIndex::insert_id(std::uint32_t slot) {
  if ((rules_ + 1) * 4 > id_table_.size() * 3) grow_ids();
  std::size_t mask = id_table_.size() - 1;
  std::size_t i = hash_of(static_cast<std::uint64_t>(entries_[slot].id), mask);
  while (id_table_[i] != no_slot) i = (i + 1) & mask;
  id_table_[i] = slot;
}

void CustomerIndex::grow_ids() {
  std::vector<std::uint32_t> old = std::move(id_table_);
  id_table_.assign(old.size() * 2, no_slot);
  std::size_t mask = id_table_.size() - 1;
  for (std::uint32_t slot : old) {
    if (slot == no_slot) continue;
    std::size_t i = hash_of(static_cast<std::uint64_t>(entries_[slot].id), mask);
    while (id_table_[i] != no_slot) i = (i + 1) & mask;
    id_table_[i] = slot;
  }
}

// Backward-shift deletion keeps probe chains unbroken without tombstones.
void CustomerIndex::erase_id(std::int64_t id) {
  std::size_t mask = id_table_.size() - 1;
  std::size_t i = hash_of(static_cast<std::uint64_t>(id), mask);
  while (id_table_[i] != no_slot && entries_[id_table_[i]].id != id) i = (i + 1) & mask;
  if (id_table_[i] == no_slot) return;
  for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    if (id_table_[j] == no_slot) break;
    std::size_t home = hash_of(static_cast<std::uint64_t>(entries_[id_table_[j]].id), mask);
    // Move j into the hole at i when its home is not within (i, j].
    if (((j - home) & mask) >= ((j - i) & mask)) {
      id_table_[i] = id_table_[j];
      i = j;
    }
  }
  id_table_[i] = no_slot;
}

void CustomerIndex::grow_numbers() {
  std::vector<std::uint32_t> old = std::move(number_table_);
  number_table_.assign(old.size() * 2, empty_ref);
  numbers_used_ = 0;
  for (std::uint32_t ref : old)
    if (ref != empty_ref) insert_number(number_of(ref), ref);
}

void CustomerIndex::insert_number(std::uint64_t number, std::uint32_t ref) {
  if ((numbers_used_ + 1) * 4 > number_table_.size() * 3) grow_numbers();
  std::size_t mask = number_table_.size() - 1;
  std::size_t i = hash_of(number, mask);
  while (number_table_[i] != empty_ref) i = (i + 1) & mask;
  number_table_[i] = ref;
  ++numbers_used_;
}

void CustomerIndex::erase_number(std::uint64_t number, std::uint32_t ref) {
  std::size_t mask = number_table_.size() - 1;
  std::size_t i = hash_of(number, mask);
  while (number_table_[i] != empty_ref && number_table_[i] != ref) i = (i + 1) & mask;
  if (number_table_[i] == empty_ref) return;
  for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    if (number_table_[j] == empty_ref) break;
    std::size_t home = hash_of(number_of(number_table_[j]), mask);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      number_table_[i] = number_table_[j];
      i = j;
    }
  }
  number_table_[i] = empty_ref;
  --numbers_used_;
}

void CustomerIndex::upsert(const sdk::RuleKeys& rule) {
  remove(rule.id);
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[slot];
  e.id = rule.id;
  e.project = intern_project(rule.project);
  e.operators = intern_operators(rule.operators);
  e.numbers = {};
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto code = NumberPlan::encode(rule.callers_normalised[i]);
    if (!code) continue;
    // The same number twice in one rule is indexed once.
    bool repeated = false;
    for (std::uint32_t k = 0; k < i; ++k) repeated |= e.numbers[k] == *code;
    if (repeated) continue;
    e.numbers[i] = *code;
  }
  insert_id(slot);
  ++rules_;
  for (std::uint32_t i = 0; i < 3; ++i)
    if (entries_[slot].numbers[i]) insert_number(entries_[slot].numbers[i], slot << 2 | i);
}

void CustomerIndex::remove(std::int64_t rule_id) {
  std::uint32_t slot = slot_of(rule_id);
  if (slot == no_slot) return;
  for (std::uint32_t i = 0; i < 3; ++i)
    if (entries_[slot].numbers[i]) erase_number(entries_[slot].numbers[i], slot << 2 | i);
  erase_id(rule_id);
  entries_[slot] = Entry{};
  free_slots_.push_back(slot);
  --rules_;
}

void CustomerIndex::find(std::string_view normalised, std::vector<IndexedRule>& out) const {
  auto code = NumberPlan::encode(normalised);
  if (!code) return;
  std::size_t mask = number_table_.size() - 1;
  for (std::size_t i = hash_of(*code, mask); number_table_[i] != empty_ref; i = (i + 1) & mask) {
    std::uint32_t ref = number_table_[i];
    if (number_of(ref) != *code) continue;
    const Entry& e = entries_[ref >> 2];
    const auto& ops = operator_lists_[e.operators];
    out.push_back({e.id, projects_[e.project], std::span<const std::string>(ops.data(), ops.size())});
  }
}

std::vector<std::string> CustomerIndex::operators() const {
  std::vector<std::string> out;
  for (const auto& list : operator_lists_)
    for (const auto& o : list)
      if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  return out;
}

std::size_t CustomerIndex::memory_bytes() const {
  std::size_t bytes = entries_.capacity() * sizeof(Entry) + free_slots_.capacity() * 4 +
                      number_table_.capacity() * 4 + id_table_.capacity() * 4;
  for (const auto& p : projects_) bytes += sizeof(std::string) + p.capacity();
  for (const auto& l : operator_lists_) {
    bytes += sizeof(l) + l.capacity() * sizeof(std::string);
    for (const auto& o : l) bytes += o.capacity() > 15 ? o.capacity() : 0;
  }
  return bytes;
}

}  // namespace switchboard::core
