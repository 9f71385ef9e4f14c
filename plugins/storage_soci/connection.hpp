// Where the database is: the `connection` setting parsed into a backend and its target, with the
// password kept apart so that nothing that may be printed ever contains it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::plugins::soci_storage {

enum class Backend { sqlite3, postgresql };

const char* to_string(Backend backend) noexcept;

struct ConnectionTarget {
  Backend backend = Backend::sqlite3;
  // SQLite: the database file as configured (relative to the working directory).
  // PostgreSQL: the libpq keyword string, which never contains a password (validate() refuses one).
  std::string location;
  std::string password;  // PostgreSQL only; empty when not configured
  std::chrono::milliseconds busy_timeout{5000};  // SQLite only

  // What logs and error messages name: "var/switchboard.db", "host=db1 dbname=cc user=switchboard".
  const std::string& display() const noexcept { return location; }
  // The string handed to the SOCI backend. Contains the password: never log it.
  std::string backend_connect_string() const;
};

// Parses `sqlite3://PATH` or `postgresql://KEYWORDS`. Returns the reason when the string cannot be used;
// every reason names what to write instead.
struct ParsedConnection {
  std::optional<ConnectionTarget> target;
  std::string problem;
};
ParsedConnection parse_connection(std::string_view connection);

// libpq's quoting for a keyword value: 'it''s' is written 'it\'s'.
std::string quote_libpq_value(std::string_view value);

// Removes every occurrence of `secret` from `text` (error messages from a driver, to be safe).
std::string redact(std::string text, std::string_view secret);

}  // namespace switchboard::plugins::soci_storage
