// Command-line tools for the agents on the server (seed 4): `agents add|list|passwd|set|remove`, from
// storage. Passwords are kept only as argon2id hashes (libsodium); the password itself is never stored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace switchboard::core {

struct AgentsOptions {
  std::string config_file;
  std::string storage;  // empty: the only one
  std::string name;     // add, passwd, set, remove
  bool json = false;    // list
  // add: every field; set: only those given (std::nullopt: left as it is).
  std::optional<std::string> extension;
  std::optional<std::string> role;  // agent, administrator
  std::optional<bool> central;      // may edit the central list
  std::optional<bool> own;          // may edit its own list
  std::optional<bool> call_module;
  std::optional<std::string> group;  // SA group number; "" (set): none
  std::vector<std::string> plugin_dirs;
};

// Exit codes: 0 done, 1 refused (a name that exists or does not) or the storage failed, 2 bad
// configuration or arguments (an extension not all digits, an empty password, passwords that differ).
// add and passwd read the password from standard input's first line when it is no terminal, else ask
// twice without echo.
int agents_add(const AgentsOptions& options);
int agents_list(const AgentsOptions& options);
int agents_passwd(const AgentsOptions& options);
int agents_set(const AgentsOptions& options);
int agents_remove(const AgentsOptions& options);

// The argon2id hash (libsodium's crypto_pwhash_str, interactive limits) of `password`; nullopt when
// libsodium cannot start or runs out of memory.
std::optional<std::string> hash_password(const std::string& password);
// Whether `password` is the one `hash` (from hash_password) was made from. False for an empty or
// malformed hash.
bool verify_password(const std::string& hash, const std::string& password);

}  // namespace switchboard::core
