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

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` (lead byte 0x80 or above), or 0:
// Unicode table 3-7, no overlong forms, surrogates or code points above U+10FFFF, the same test
// nlohmann::json applies when it serialises.
std::size_t utf8_sequence_length(std::string_view text) {
  auto lead = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 0;
  if (lead == 0xE0) second_low = 0xA0;
  if (lead == 0xED) second_high = 0x9F;
  if (lead == 0xF0) second_low = 0x90;
  if (lead == 0xF4) second_high = 0x8F;
  if (length > text.size()) return 0;
  auto second = static_cast<unsigned char>(text[1]);
  if (second < second_low || second > second_high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) return 0;
  return length;
}

// Appends `text` as a JSON string escaped as nlohmann::json's dump() escapes it (the stored format), copying
// runs of plain characters at once. Returns false, leaving `json` incomplete, if `text` is not UTF-8.
bool append_json_string(std::string& json, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  json += '"';
  std::size_t plain_from = 0, i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      auto length = utf8_sequence_length(text.substr(i));
      if (length == 0) return false;
      i += length;
      continue;
    }
    json.append(text, plain_from, i - plain_from);
    switch (c) {
      case '"': json += "\\\""; break;
      case '\\': json += "\\\\"; break;
      case '\b': json += "\\b"; break;
      case '\f': json += "\\f"; break;
      case '\n': json += "\\n"; break;
      case '\r': json += "\\r"; break;
      case '\t': json += "\\t"; break;
      default:
        json += "\\u00";
        json += hex[c >> 4];
        json += hex[c & 0xF];
    }
    plain_from = ++i;
  }
  json.append(text, plain_from, i - plain_from);
  json += '"';
  return true;
}

}  // namespace

void encode_reasons(const std::vector<std::string>& reasons, std::string& json) {
  json.assign(1, '[');
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i) json += ',';
    if (!append_json_string(json, reasons[i])) {
      // Invalid UTF-8 is replaced rather than refused: a reason trail must never stop a call being
      // logged. Rare, so left to nlohmann::json, whose replacement is the stored format.
      json = nlohmann::json(reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  json += ']';
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
