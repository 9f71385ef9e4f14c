// Shared by the tests: a fixed local time zone and records at known local times.
#pragma once

#include <stdlib.h>  // setenv
#include <time.h>    // tzset

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/sdk/types.hpp"

namespace export_calllog_test {

namespace sdk = switchboard::sdk;

// The call centre's zone, so local times in the expectations are fixed whatever the machine's zone.
inline void use_prague_time() {
  ::setenv("TZ", "Europe/Prague", 1);
  ::tzset();
}

// An instant given in UTC.
inline sdk::TimePoint utc(int y, unsigned m, unsigned d, int hh, int mm, int ss, int ms = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss} + milliseconds{ms};
}

// The manual's example: 22.2.2006 15:27:56 (CET) ;100;115;114;1;12;
inline sdk::CallRecord manual_example(std::uint64_t sequence = 1) {
  sdk::CallRecord r;
  r.sequence = sequence;
  r.at = utc(2006, 2, 22, 14, 27, 56);
  r.call_id = "c-0001";
  r.project = "100";
  r.caller = "115";
  r.operator_extension = "114";
  r.outcome = 1;
  r.customer_id = 12;
  r.strategy = "rules";
  r.reasons = {"rule 12 matched caller", "114 answered"};
  return r;
}

inline sdk::AuditRecord audit_example(std::uint64_t sequence = 1) {
  sdk::AuditRecord a;
  a.sequence = sequence;
  a.at = utc(2006, 2, 22, 14, 30, 0);
  a.instance = "hicom-main";
  a.actor = "agent:novak";
  a.command = "EINRICHTEN-WABE:401,,,SAESPR,NEIN,,,,,,,,;";
  a.result = "AUSGEFUEHRT";
  a.ok = true;
  return a;
}

}  // namespace export_calllog_test
