#include "codec.hpp"

#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace switchboard::plugins::soci_storage {

std::int64_t to_millis(sdk::TimePoint t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

sdk::TimePoint from_millis(std::int64_t ms) {
  return sdk::TimePoint(std::chrono::duration_cast<sdk::TimePoint::duration>(std::chrono::milliseconds(ms)));
}

std::optional<std::string> check_operators(const std::vector<std::string>& operators) {
  for (std::size_t i = 0; i < operators.size(); ++i) {
    if (operators[i].empty()) return "operator " + std::to_string(i + 1) + " is empty";
    if (operators[i].find(';') != std::string::npos)
      return "operator '" + operators[i] + "' contains ';' (give each extension as its own entry)";
  }
  return std::nullopt;
}

std::string join_operators(const std::vector<std::string>& operators) {
  std::string joined;
  for (std::size_t i = 0; i < operators.size(); ++i) {
    if (i) joined += ';';
    joined += operators[i];
  }
  return joined;
}

std::vector<std::string> split_operators(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    auto semi = joined.find(';');
    out.emplace_back(joined.substr(0, semi));
    if (semi == std::string_view::npos) break;
    joined.remove_prefix(semi + 1);
  }
  return out;
}

std::string encode_reasons(const std::vector<std::string>& reasons) {
  // Invalid UTF-8 is replaced rather than refused: a reason trail must never stop a call being logged.
  return nlohmann::json(reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> decode_reasons(std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array())
    throw std::runtime_error("call log reasons are not a JSON array: " + std::string(json.substr(0, 80)));
  return parsed.get<std::vector<std::string>>();
}

namespace {

char32_t fold_code_point(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 0x20;
  if (c < 0x80) return c;
  if ((c >= 0xC0 && c <= 0xDE) && c != 0xD7) return c + 0x20;  // Latin-1 capitals, not the × sign
  if (c >= 0x100 && c <= 0x137) return c | 1;                  // pairs: even upper, odd lower
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;    // pairs: odd upper, even lower
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;                                 // Ÿ → ÿ
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;               // Cyrillic А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;               // Cyrillic Ѐ..Џ
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Appends the folded text to `out`.
void fold_case_into(std::string& out, std::string_view utf8) {
  std::size_t i = 0;
  while (i < utf8.size()) {
    auto lead = static_cast<unsigned char>(utf8[i]);
    if (lead < 0x80) {  // most text is ASCII: no decoding
      out += static_cast<char>(lead >= 'A' && lead <= 'Z' ? lead + 0x20 : lead);
      ++i;
      continue;
    }
    std::size_t length = (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    bool valid = length != 0 && i + length <= utf8.size();
    char32_t c = length == 2 ? (lead & 0x1F) : length == 3 ? (lead & 0x0F) : (lead & 0x07);
    for (std::size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(utf8[i + k]);
      valid = (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    if (!valid) {
      out += utf8[i];  // not UTF-8: kept byte for byte, so it still matches itself
      ++i;
      continue;
    }
    append_utf8(out, fold_code_point(c));
    i += length;
  }
}

}  // namespace

std::string fold_case(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  fold_case_into(out, utf8);
  return out;
}

std::string search_text_of(const sdk::Rule& rule) {
  constexpr char separator = '\x1f';  // ASCII unit separator: never typed into a search box
  std::string out;
  out.reserve(rule.company.size() + rule.company_id.size() + rule.city.size() + rule.note.size() + 3);
  fold_case_into(out, rule.company);
  out += separator;
  fold_case_into(out, rule.company_id);
  out += separator;
  fold_case_into(out, rule.city);
  out += separator;
  fold_case_into(out, rule.note);
  return out;
}

}  // namespace switchboard::plugins::soci_storage
