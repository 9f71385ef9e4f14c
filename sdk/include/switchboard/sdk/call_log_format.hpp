// The call log as the original system wrote it ("Save and delete log", seed section 1.1), shared by the
// `calllog_file` exporter and the host's `calllog export` command so both write the same bytes:
//
//   22.2.2006 15:27:56;100;115;114;1;12;
//   D.M.YYYY HH:MM:SS;project;caller;operator;type;customer_id;
//
// Decisions for the seed's ambiguities: day and month have no leading zeros, the time is HH:MM:SS in the
// host's local time zone (TZ, else /etc/localtime); the operator is empty for outcome 9 (all busy) and when
// nobody answered; the customer id is empty when the call matched no customer; every field, the last
// included, is followed by ';'. A line never contains its own end: ';', CR, LF and other control characters
// inside a field become '?'.
//
// Also here: ISO 8601 local time with offset (CSV and JSON exports) and the conversion to CP1250, the
// encoding the legacy tools that read the log expect. Header-only; POSIX (localtime_r, iconv).
#pragma once

#include <iconv.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

// The end of each line of the original's log file (a Windows program's).
inline constexpr std::string_view seed_log_line_end = "\r\n";

// The seed's outcome code "all operators busy; the call cannot be handed over": logged without operator.
inline constexpr OutcomeCode outcome_all_busy = 9;

// `at` broken down in the local time zone (localtime_r), to the whole second (rounded down, also before 1970).
// The zone is read once per process (glibc); a program that changes TZ calls tzset() afterwards.
inline std::tm local_tm(TimePoint at) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(at));
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

// "22.2.2006 15:27:56": day and month without leading zeros, the time with them; local time.
inline std::string seed_timestamp(TimePoint at) {
  std::tm tm = local_tm(at);
  char text[64];
  std::snprintf(text, sizeof text, "%d.%d.%04d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

// "2006-02-22T15:27:56.000+01:00": ISO 8601 local time with milliseconds and the zone's offset at that time,
// so the text reads as the call centre's clock and still converts to an exact instant.
inline std::string iso8601_local(TimePoint at) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(at);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(at - seconds).count();
  std::tm tm = local_tm(at);
  long offset = tm.tm_gmtoff;  // seconds east of UTC
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis), sign, offset / 3600,
                (offset % 3600) / 60);
  return text;
}

// One field of the seed line: ';' and control characters, which would break the line, become '?'.
inline std::string seed_field(std::string_view value) {
  std::string out(value);
  for (auto& c : out)
    if (c == ';' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// The seed's log line for `record`, without the line end: `D.M.YYYY HH:MM:SS;project;caller;operator;type;customer_id;`
// e.g. "22.2.2006 15:27:56;100;115;114;1;12;". Empty fields where unknown: the caller when withheld, the operator
// for outcome 9 (even if one is set) or when nobody answered, the customer id when none matched.
inline std::string seed_log_line(const CallRecord& record) {
  std::string line = seed_timestamp(record.at);
  line += ';';
  line += seed_field(record.project);
  line += ';';
  line += seed_field(record.caller);
  line += ';';
  if (record.outcome != outcome_all_busy) line += seed_field(record.operator_extension);
  line += ';';
  line += std::to_string(record.outcome);
  line += ';';
  if (record.customer_id) line += std::to_string(*record.customer_id);
  line += ';';
  return line;
}

namespace detail {

// Bytes of the UTF-8 sequence starting at `s[0]`: its lead byte's length when the continuation bytes are
// there, else the lead byte and the continuation bytes that follow it (so one bad byte costs one '?').
inline std::size_t utf8_sequence_length(std::string_view s) {
  auto lead = static_cast<unsigned char>(s[0]);
  std::size_t expected = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
  if (lead >= 0xF5) expected = 1;
  std::size_t n = 1;
  while (n < expected && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
  return n;
}

}  // namespace detail

// UTF-8 text in Windows-1250 (the Czech legacy code page). A character CP1250 cannot hold, and every byte
// that is not valid UTF-8, becomes '?'. Empty optional only when the C library has no CP1250 converter
// (iconv_open fails, e.g. glibc's gconv modules are missing).
inline std::optional<std::string> utf8_to_cp1250(std::string_view utf8) {
  iconv_t converter = iconv_open("CP1250", "UTF-8");
  if (converter == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  out.resize(utf8.size() + 16);  // one byte per character at most
  char* in_ptr = const_cast<char*>(utf8.data());  // iconv's signature; the input is not written
  std::size_t in_left = utf8.size();
  std::size_t used = 0;
  while (in_left > 0) {
    char* out_ptr = out.data() + used;
    std::size_t out_left = out.size() - used;
    std::size_t rc = iconv(converter, &in_ptr, &in_left, &out_ptr, &out_left);
    used = out.size() - out_left;
    if (rc != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2 + 16);
      continue;
    }
    // EILSEQ (unconvertible or invalid) or EINVAL (a sequence cut off at the end): one '?' for it.
    if (out.size() - used < 1) out.resize(out.size() * 2 + 16);
    out[used++] = '?';
    std::size_t skip = detail::utf8_sequence_length(std::string_view(in_ptr, in_left));
    in_ptr += skip;
    in_left -= skip;
    iconv(converter, nullptr, nullptr, nullptr, nullptr);  // reset the shift state after the skip
  }
  iconv_close(converter);
  out.resize(used);
  return out;
}

}  // namespace switchboard::sdk
