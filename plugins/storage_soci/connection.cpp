#include "connection.hpp"

#include <cctype>
#include <cstring>
#include <memory>

#include <libpq-fe.h>

namespace switchboard::plugins::soci_storage {

namespace {

constexpr std::string_view sqlite_scheme = "sqlite3://";
constexpr std::string_view postgresql_scheme = "postgresql://";

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

constexpr const char* password_refusal =
    "the connection string must not contain a password: put it in the `password` key, which is redacted "
    "everywhere (e.g. password: ${SWITCHBOARD_DB_PASSWORD})";

ParsedConnection problem(std::string text) { return {std::nullopt, std::move(text)}; }

ParsedConnection parse_sqlite(std::string_view path) {
  if (path.empty()) return problem("sqlite3:// needs a file path, e.g. sqlite3://var/switchboard.db");
  if (path == ":memory:" || starts_with(path, "file:"))
    return problem("sqlite3:// needs a plain file path: an in-memory or URI database is not shared by the "
                   "connection pool and is lost at exit");
  // SOCI reads a connect string containing '=' as "key=value" options instead of a file name.
  if (path.find('=') != std::string_view::npos)
    return problem("the SQLite path '" + std::string(path) + "' contains '='; choose a file name without it");
  ConnectionTarget target;
  target.backend = Backend::sqlite3;
  target.location = std::string(path);
  return {target, {}};
}

ParsedConnection parse_postgresql(std::string_view keywords) {
  if (keywords.find('=') == std::string_view::npos)
    return problem("postgresql:// needs libpq keywords, e.g. postgresql://host=db1 port=5432 dbname=switchboard "
                   "user=switchboard (URIs such as postgresql://user@host/db are not accepted)");
  std::string text(keywords);
  // Checked before parsing too: libpq's parse errors quote fragments of the string, and those fragments
  // must never be a password.
  std::string lowered;
  for (char c : text) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lowered.find("password") != std::string::npos) return problem(password_refusal);
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(text.c_str(), &error),
                                                                       &PQconninfoFree);
  if (!options) {
    std::string message = error ? error : "out of memory";
    if (error) PQfreemem(error);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return problem("the PostgreSQL connection keywords cannot be parsed: " + message);
  }
  for (auto* option = options.get(); option->keyword; ++option) {
    if (option->val && std::strcmp(option->keyword, "password") == 0)
      return problem(password_refusal);
  }
  ConnectionTarget target;
  target.backend = Backend::postgresql;
  target.location = std::move(text);
  return {target, {}};
}

}  // namespace

const char* to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::sqlite3: return "sqlite3";
    case Backend::postgresql: return "postgresql";
  }
  return "unknown";
}

std::string ConnectionTarget::backend_connect_string() const {
  if (backend == Backend::sqlite3 || password.empty()) return location;
  return location + " password=" + quote_libpq_value(password);
}

ParsedConnection parse_connection(std::string_view connection) {
  if (starts_with(connection, sqlite_scheme)) return parse_sqlite(connection.substr(sqlite_scheme.size()));
  if (starts_with(connection, postgresql_scheme)) return parse_postgresql(connection.substr(postgresql_scheme.size()));
  // The text is not echoed: a mistyped string may hold a password.
  return problem("the connection names no known backend; write sqlite3://PATH or "
                 "postgresql://host=… port=… dbname=… user=…");
}

std::string quote_libpq_value(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "***");
  return text;
}

}  // namespace switchboard::plugins::soci_storage
