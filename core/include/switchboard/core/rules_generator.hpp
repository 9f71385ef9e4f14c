// Realistic rules for demos and benchmarks: Czech names, companies, addresses and numbers, unique numbers,
// operators drawn from each project's pool. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "switchboard/sdk/types.hpp"

namespace switchboard::core {

struct RuleGeneratorOptions {
  std::size_t customers = 1000;
  std::vector<std::string> projects{"100", "200", "300"};
  std::vector<std::string> operators;  // shared out over the projects, in turn
  std::uint64_t seed = 1;
  int max_numbers = 3;                 // 1..3 numbers a customer
  unsigned lookup_only_percent = 10;   // rules without a project (SA-group mode)
};

std::vector<sdk::Rule> generate_rules(const RuleGeneratorOptions& options);

}  // namespace switchboard::core
