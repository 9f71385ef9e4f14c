// Drives the libFuzzer entry point (../fuzz_decode.cpp) over a fixed, seeded corpus of mutated frames, so
// every build, GCC included, runs the fuzz invariants; the entry point aborts when one breaks.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/framing.hpp"
#include "codec/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace switchboard::csta {
namespace {

std::vector<std::string> seed_frames() {
  std::vector<std::string> frames;
  auto add = [&](MessageKind kind, auto&& fill) {
    Message m;
    m.kind = kind;
    fill(m);
    frames.push_back(encode_frame(kind == MessageKind::delivered ? kEventInvokeId : 17, encode_message(m).value()).value());
  };
  add(MessageKind::delivered, [](Message& m) {
    m.monitor_cross_ref_id = "17";
    m.connection = {"FF00", "N<+15619231002>"};
    m.calling_device = "Dvořák";
    m.called_device = "200";
    m.local_connection_info = sdk::ConnectionState::alerting;
    m.cause = "new_call";
  });
  add(MessageKind::deflect_call, [](Message& m) {
    m.connection = {"FF00", "200"};
    m.new_destination = "114";
  });
  add(MessageKind::snapshot_device_response,
      [](Message& m) { m.snapshot = {{{"1", "114"}, sdk::ConnectionState::connected}}; });
  add(MessageKind::csta_error_code, [](Message& m) { m.error_value = "invalidDeviceID"; });
  add(MessageKind::start_application_session, [](Message& m) {
    m.application_id = "switchboard";
    m.user = "u";
    m.password = "p";
  });
  return frames;
}

// Raw engine output only: std::mt19937's sequence is fixed by the standard, distributions are not.
std::string mutate(std::string input, std::mt19937& random) {
  const int edits = 1 + static_cast<int>(random() % 4);
  for (int i = 0; i < edits && !input.empty(); ++i) {
    const std::size_t at = random() % input.size();
    switch (random() % 6) {
      case 0: input[at] = static_cast<char>(random() & 0xff); break;               // flip a byte
      case 1: input.insert(at, 1, "<>&;:/\"\0x"[random() % 9]); break;              // XML-significant byte
      case 2: input.erase(at, 1 + random() % 8); break;                            // drop bytes
      case 3: input.resize(at); break;                                             // truncate
      case 4: input += input.substr(at, random() % 64); break;                     // coalesce garbage
      case 5: input[random() % (input.size() < 8 ? input.size() : 8)] = static_cast<char>(random() & 0xff); break;  // header
    }
  }
  return input;
}

TEST(FuzzCorpus, SeedFramesAreValid) {
  for (const auto& wire : seed_frames()) {
    FrameDecoder decoder;
    decoder.feed(wire);
    auto frame = decoder.next();
    ASSERT_TRUE(frame);
    auto message = decode_message(frame->body);
    ASSERT_TRUE(message) << message.error().message;
    EXPECT_NE(message.value().kind, MessageKind::unknown);
  }
}

TEST(FuzzCorpus, MutatedFramesNeverBreakTheDecoderInvariants) {
  const auto seeds = seed_frames();
  std::mt19937 random(20240605);
  int frame_errors = 0;
  int decoded_messages = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = mutate(seeds[i % seeds.size()], random);
    if (i % 7 == 0) input += mutate(seeds[(i + 1) % seeds.size()], random);  // two frames in one chunk
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());

    // Tally both outcomes, so the corpus is shown to reach the error paths and the success path.
    FrameDecoder decoder;
    decoder.feed(input);
    while (auto frame = decoder.next()) decoded_messages += decode_message(frame->body) ? 1 : 0;
    frame_errors += decoder.failed() ? 1 : 0;
  }
  EXPECT_GT(frame_errors, 1000);
  EXPECT_GT(decoded_messages, 1000);
}

}  // namespace
}  // namespace switchboard::csta
