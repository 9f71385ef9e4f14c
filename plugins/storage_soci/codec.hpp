// How domain values are written into columns both backends store the same way: times as integer
// milliseconds since the Unix epoch (UTC), lists as text, and the folded text the rule search matches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/types.hpp"

namespace switchboard::plugins::soci_storage {

// Milliseconds since the epoch. Sub-millisecond parts are dropped (floor), so a stored time reads back
// equal to what was written whenever it was written to the millisecond.
std::int64_t to_millis(sdk::TimePoint t);
sdk::TimePoint from_millis(std::int64_t ms);

// Operators are extensions: never empty and never containing ';', which keeps "114;115" unambiguous.
// Returns the offending entry's message, or nothing when the list can be stored.
std::optional<std::string> check_operators(const std::vector<std::string>& operators);
std::string join_operators(const std::vector<std::string>& operators);
std::vector<std::string> split_operators(std::string_view joined);

// The reason trail as a JSON array of strings: exact for any text, and `[]` differs from `[""]`. Written
// into `json` (its old content replaced) so that an append reuses one buffer for every row.
void encode_reasons(const std::vector<std::string>& reasons, std::string& json);
std::vector<std::string> decode_reasons(std::string_view json);

// Case folding for the rule search, done here rather than with SQL lower(): SQLite's lower() folds
// ASCII only and PostgreSQL's follows the server locale, but customers are named "Čedok" and "ŘEMESLA"
// and both backends must find them the same way. Folds ASCII, Latin-1, Latin Extended-A (Czech, Slovak,
// Polish, German...) and basic Cyrillic; other characters pass unchanged.
std::string fold_case(std::string_view utf8);

// What search_rules matches text against: the folded company, company id, city and note, separated by
// a control character so that a needle cannot match across two fields.
std::string search_text_of(const sdk::Rule& rule);

}  // namespace switchboard::plugins::soci_storage
