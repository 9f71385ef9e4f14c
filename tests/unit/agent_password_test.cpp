// Agents' passwords: argon2id hashes (libsodium) made by hash_password, checked by verify_password.
#include <gtest/gtest.h>

#include "switchboard/core/agent_commands.hpp"

namespace switchboard::core {
namespace {

TEST(AgentPassword, HashIsArgon2idAndVerifiesOnlyTheRightPassword) {
  auto hash = hash_password("correct horse");
  ASSERT_TRUE(hash.has_value());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horse "));
  EXPECT_FALSE(verify_password(*hash, "wrong"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(AgentPassword, SamePasswordHashesDifferently) {
  auto first = hash_password("secret"), second = hash_password("secret");
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);  // salted
  EXPECT_TRUE(verify_password(*first, "secret"));
  EXPECT_TRUE(verify_password(*second, "secret"));
}

TEST(AgentPassword, EmptyOrMalformedHashNeverVerifies) {
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("", "secret"));
  EXPECT_FALSE(verify_password("secret", "secret"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=65536,t=2,p=1$garbage", "secret"));
}

}  // namespace
}  // namespace switchboard::core
