// Frame + XML decode of a ~1.2 KB OpenScape-style DeliveredEvent. Target (issue 5): ≤ 3 µs.
//   cmake --build /tmp/csta-build --target csta_decode_bench && /tmp/csta-build/bin/csta_decode_bench
#include <benchmark/benchmark.h>

#include <string>

#include "codec/framing.hpp"
#include "codec/message.hpp"

namespace {

using namespace switchboard::csta;

const std::string kDeliveredEvent = R"(<?xml version="1.0" encoding="UTF-8"?>
<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
  <monitorCrossRefID>17</monitorCrossRefID>
  <connection>
    <callID>FF000100000000001B5E4C5F4E0A0000</callID>
    <deviceID>N&lt;+15619231002&gt;;displayNumber=+15619231002</deviceID>
  </connection>
  <alertingDevice>
    <deviceIdentifier>N&lt;+15619231002&gt;;displayNumber=+15619231002</deviceIdentifier>
  </alertingDevice>
  <callingDevice>
    <deviceIdentifier>N&lt;+15619231000&gt;;noa=nk;displayNumber=Dvořák Antonín</deviceIdentifier>
  </callingDevice>
  <calledDevice>
    <deviceIdentifier>N&lt;+15619231002&gt;;displayNumber=+15619231002</deviceIdentifier>
  </calledDevice>
  <lastRedirectionDevice>
    <notKnown/>
  </lastRedirectionDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
  <servicesPermitted>
    <callControlServices>
      <deflectCall>true</deflectCall>
    </callControlServices>
  </servicesPermitted>
  <extensions>
    <privateData>
      <private>
        <scx:CallInfo xmlns:scx="http://www.siemens.com/schema/csta">
          <scx:globalCallID>01000000000000001B5E4C5F4E0A0000</scx:globalCallID>
        </scx:CallInfo>
      </private>
    </privateData>
  </extensions>
</DeliveredEvent>)";

void BM_DecodeDeliveredFrame(benchmark::State& state) {
  const std::string wire = encode_frame(kEventInvokeId, kDeliveredEvent).value();
  FrameDecoder decoder;
  for (auto _ : state) {
    decoder.feed(wire);
    auto frame = decoder.next();
    auto message = decode_message(frame->body);
    benchmark::DoNotOptimize(message);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.counters["frame_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_DecodeDeliveredFrame);

// The driver's way: every frame decoded into one Message whose strings keep their buffers.
void BM_DecodeDeliveredFrameIntoReusedMessage(benchmark::State& state) {
  const std::string wire = encode_frame(kEventInvokeId, kDeliveredEvent).value();
  FrameDecoder decoder;
  Message message;
  for (auto _ : state) {
    decoder.feed(wire);
    auto frame = decoder.next();
    auto status = decode_message(frame->body, message);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(message);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.counters["frame_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_DecodeDeliveredFrameIntoReusedMessage);

}  // namespace

BENCHMARK_MAIN();
