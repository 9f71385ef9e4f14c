#include "membership_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace switchboard::plugins::sa_group {

namespace {

std::string error_text(int error) { return std::generic_category().message(error); }

}  // namespace

std::variant<MembershipRead, std::string> read_membership(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return "cannot read " + path + ": " + ec.message();
    return MembershipRead{};
  }
  std::ifstream in(path);
  if (!in) return "cannot read " + path + ": " + error_text(errno);
  MembershipRead read;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    std::istringstream words(line);
    std::string group, member, state, extra;
    words >> group >> member >> state;
    if (group.empty()) continue;  // blanks only
    if (member.empty() || (state != "joined" && state != "left") || (words >> extra)) {
      read.skipped.push_back("line " + std::to_string(number) + ": expected \"GROUP MEMBER joined|left\", got \"" +
                             line + "\"");
      continue;
    }
    read.membership[{group, member}] = state == "joined";
  }
  if (in.bad()) return "cannot read " + path + ": " + error_text(errno);
  return read;
}

std::string format_membership(const Membership& membership) {
  std::string out = "# Switchboard sa_group membership, rewritten on every change: GROUP MEMBER joined|left\n";
  for (const auto& [key, joined] : membership) out += key.first + " " + key.second + (joined ? " joined\n" : " left\n");
  return out;
}

std::string write_file_replacing(const std::string& path, const std::string& content) {
  std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return "cannot create the folder of " + path + ": " + ec.message();
  }
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc | std::ios::binary);
    if (!out) return "cannot write " + temporary + ": " + error_text(errno);
    out << content;
    out.flush();
    if (!out) return "cannot write " + temporary + ": " + error_text(errno);
  }
  std::filesystem::rename(temporary, target, ec);
  if (ec) {
    std::string why = ec.message();
    std::filesystem::remove(temporary, ec);
    return "cannot replace " + path + ": " + why;
  }
  return {};
}

}  // namespace switchboard::plugins::sa_group
