// `switchboard csta decode`: captured CSTA frames or bare XML as normalised JSON lines.
#pragma once

#include <string>
#include <vector>

namespace switchboard::core {

// Exit code: 0 when every message decoded, 1 when any file held something unknown or malformed.
int csta_decode(const std::vector<std::string>& files);

}  // namespace switchboard::core
