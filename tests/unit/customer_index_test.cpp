// The customer index against a plain model, through many inserts, updates and removals.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "switchboard/core/customer_index.hpp"

namespace sdk = switchboard::sdk;
using switchboard::core::CustomerIndex;
using switchboard::core::IndexedRule;

namespace {

sdk::RuleKeys rule(std::int64_t id, std::string project, std::array<std::string, 3> numbers,
                   std::vector<std::string> operators = {}) {
  sdk::RuleKeys r;
  r.id = id;
  r.project = std::move(project);
  r.callers_normalised = std::move(numbers);
  r.operators = std::move(operators);
  return r;
}

std::set<std::int64_t> ids(const CustomerIndex& index, const std::string& number) {
  std::vector<IndexedRule> found;
  index.find(number, found);
  std::set<std::int64_t> out;
  for (const auto& f : found) out.insert(f.id);
  EXPECT_EQ(out.size(), found.size()) << "a rule reported twice for " << number;
  return out;
}

}  // namespace

TEST(CustomerIndex, FindsARuleByEachOfItsNumbers) {
  CustomerIndex index;
  index.upsert(rule(12, "100", {"+420602123456", "115", ""}, {"114", "116"}));
  std::vector<IndexedRule> found;
  index.find("+420602123456", found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, 12);
  EXPECT_EQ(found[0].project, "100");
  ASSERT_EQ(found[0].operators.size(), 2u);
  EXPECT_EQ(found[0].operators[0], "114");
  EXPECT_EQ(found[0].operators[1], "116");
  EXPECT_EQ(ids(index, "115"), std::set<std::int64_t>{12});
  EXPECT_TRUE(ids(index, "+420602123457").empty());
  EXPECT_TRUE(ids(index, "").empty());
  EXPECT_EQ(index.size(), 1u);
}

TEST(CustomerIndex, OneNumberInSeveralProjects) {
  CustomerIndex index;
  index.upsert(rule(1, "100", {"+420602123456", "", ""}));
  index.upsert(rule(2, "200", {"+420602123456", "", ""}));
  index.upsert(rule(3, "", {"+420602123456", "+420602123456", ""}));
  EXPECT_EQ(ids(index, "+420602123456"), (std::set<std::int64_t>{1, 2, 3}));
}

TEST(CustomerIndex, AnUpdateReplacesTheOldNumbers) {
  CustomerIndex index;
  index.upsert(rule(7, "100", {"+420602000001", "+420602000002", ""}));
  index.upsert(rule(7, "100", {"+420602000003", "", ""}));
  EXPECT_TRUE(ids(index, "+420602000001").empty());
  EXPECT_TRUE(ids(index, "+420602000002").empty());
  EXPECT_EQ(ids(index, "+420602000003"), std::set<std::int64_t>{7});
  EXPECT_EQ(index.size(), 1u);
  index.remove(7);
  EXPECT_TRUE(ids(index, "+420602000003").empty());
  EXPECT_TRUE(index.empty());
  index.remove(7);  // removing twice is harmless
}

TEST(CustomerIndex, AgreesWithAModelThroughRandomChanges) {
  std::mt19937_64 random(42);
  CustomerIndex index;
  std::map<std::int64_t, sdk::RuleKeys> model;
  auto number = [&] { return "+42060200" + std::to_string(1000 + random() % 3000); };  // many collisions
  for (int step = 0; step < 60'000; ++step) {
    std::int64_t id = 1 + static_cast<std::int64_t>(random() % 5000);
    if (random() % 4 == 0) {
      index.remove(id);
      model.erase(id);
    } else {
      auto r = rule(id, std::to_string(100 + random() % 3), {number(), random() % 2 ? number() : "", ""});
      index.upsert(r);
      model[id] = r;
    }
  }
  ASSERT_EQ(index.size(), model.size());
  std::map<std::string, std::set<std::int64_t>> expected;
  for (const auto& [id, r] : model)
    for (const auto& n : r.callers_normalised)
      if (!n.empty()) expected[n].insert(id);
  for (int n = 1000; n < 4000; ++n) {
    std::string key = "+42060200" + std::to_string(n);
    EXPECT_EQ(ids(index, key), expected[key]) << key;
  }
}

TEST(CustomerIndex, ReserveKeepsWhatIsThere) {
  CustomerIndex index;
  for (int i = 1; i <= 100; ++i) index.upsert(rule(i, "100", {"+4206021" + std::to_string(10000 + i), "", ""}));
  index.reserve(100'000);
  for (int i = 1; i <= 100; ++i) EXPECT_EQ(ids(index, "+4206021" + std::to_string(10000 + i)), std::set<std::int64_t>{i});
  EXPECT_GT(index.memory_bytes(), 0u);
}
