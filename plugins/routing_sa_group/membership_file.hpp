// The `state_file` of the sa_group strategy: which members have joined or left which group, kept across
// restarts like Asterisk's persistent queue members. One line per member, "GROUP MEMBER joined|left";
// lines starting with '#' are comments. Blocking file I/O: call these on the blocking pool, not the strand.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace switchboard::plugins::sa_group {

// (group, member) -> joined
using Membership = std::map<std::pair<std::string, std::string>, bool>;

struct MembershipRead {
  Membership membership;
  std::vector<std::string> skipped;  // lines that could not be read, "line 3: ..." (the rest still counts)
};

// A missing file is an empty membership (the first start); an unreadable one is an error message.
std::variant<MembershipRead, std::string> read_membership(const std::string& path);

std::string format_membership(const Membership& membership);

// Writes `content` to `path` through a temporary file renamed over it, so a crash leaves the old file or
// the new one, never half of one; creates a missing folder. Returns an error message, empty on success.
std::string write_file_replacing(const std::string& path, const std::string& content);

}  // namespace switchboard::plugins::sa_group
