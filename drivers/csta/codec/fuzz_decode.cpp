// libFuzzer entry point for the CSTA frame + XML decoder. Build and run with Clang (any build dir):
//   CXX=clang++-14 cmake -S . -B /tmp/csta-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
//   cmake --build /tmp/csta-fuzz --target csta_codec_fuzz
//   mkdir -p /tmp/csta-fuzz-corpus
//   /tmp/csta-fuzz/bin/csta_codec_fuzz -max_total_time=60 -max_len=70000 /tmp/csta-fuzz-corpus
// The target is built with ASan+UBSan; a crash leaves crash-<hash> in the working directory.
// With GCC the same function is driven by csta_codec_test (FuzzCorpus.*) over a fixed mutated corpus.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/framing.hpp"
#include "codec/message.hpp"

namespace {

using namespace switchboard::csta;

// Whatever decodes must re-encode into something that decodes to the same kind: a broken escape or a
// field written under the wrong element would show here.
void check_round_trip(std::string_view body) {
  auto decoded = decode_message(body);
  if (!decoded) return;
  auto encoded = encode_message(decoded.value());
  if (!encoded) return;
  auto again = decode_message(encoded.value());
  if (!again || again.value().kind != decoded.value().kind) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_round_trip(input);

  // The same bytes as a TCP stream, cut into chunks whose size the input chooses.
  FrameDecoder decoder;
  const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 16;
  for (std::size_t offset = 0; offset < size; offset += chunk) {
    decoder.feed(input.substr(offset, chunk));
    while (auto frame = decoder.next()) {
      if (frame->body.size() > kMaxBodyBytes || frame->invoke_id > kEventInvokeId) std::abort();
      check_round_trip(frame->body);
    }
    if (decoder.failed()) {
      if (decoder.error().message.empty() || decoder.error().offending_hex.empty()) std::abort();
      decoder.reset();
    }
  }
  return 0;
}
