// hype-bot's speech: one 3 s talk-spurt cycle (2 s of a tone, 1 s of silence that DTX turns
// into no packets but the encoder's periodic refresh frames) encoded once per speaker slot
// with libopus, in 20 ms and in 10 ms frames (what the server's a=ptime asks for), then
// replayed in a loop. Every bot with the same slot sends the same real
// Opus frames; encoding live cost a bot process most of its core at a few hundred bots.
// TalkOptions vary the loop for deterministic last-N tests: --continuous (no silence) and
// --level-step (slot i talks i * step dB quieter than slot 0).
#pragma once

#include <opus/opus.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace hype::bot {

struct TalkOptions {
  bool continuous = false;   // no 1 s pauses
  double level_step_db = 0;  // slot i is i * step dB quieter than slot 0
};

struct OpusFrame {
  std::vector<std::uint8_t> data;  // empty: DTX, nothing to send
  std::uint8_t level = 127;        // RFC 6464 byte: voice activity bit + -dBov
};

class OpusLoop {
 public:
  static constexpr int kLoopMs = 3000;

  // slot: the bot's place in its channel, which sets the tone and the talk-spurt phase.
  explicit OpusLoop(int slot, const TalkOptions& talk = {}) {
    encode(slot, talk, 20, frames20_);
    encode(slot, talk, 10, frames10_);
  }

  // The frame at t_ms into the loop, of frame_ms (10 or 20) ms.
  const OpusFrame& at(std::int64_t t_ms, int frame_ms = 20) const {
    const auto& frames = frame_ms == 10 ? frames10_ : frames20_;
    return frames[static_cast<std::size_t>((t_ms / frame_ms) %
                                           static_cast<std::int64_t>(frames.size()))];
  }

 private:
  static void encode(int slot, const TalkOptions& talk, int frame_ms,
                     std::vector<OpusFrame>& frames) {
    const int samples = 48 * frame_ms;
    frames.assign(static_cast<std::size_t>(kLoopMs / frame_ms), OpusFrame{});
    int err = 0;
    OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
    opus_encoder_ctl(enc, OPUS_SET_DTX(1));
    double f = 300.0 + 40.0 * slot;  // whole cycles in 3 s: the loop has no seam
    double amp = 0.3 * std::pow(10.0, -talk.level_step_db * slot / 20.0);
    std::uint32_t ts = 0;
    std::vector<float> pcm(static_cast<std::size_t>(samples));
    for (std::size_t n = 0; n < frames.size(); ++n, ts += static_cast<std::uint32_t>(samples)) {
      std::fill(pcm.begin(), pcm.end(), 0.0F);
      // 2 s talk, 1 s silence
      bool talking = talk.continuous || (static_cast<int>(n) * frame_ms / 1000 + slot) % 3 != 2;
      double sum = 0;
      if (talking) {
        for (std::size_t i = 0; i < pcm.size(); ++i) {
          double cycles = std::fmod(f * (ts + static_cast<double>(i)) / 48000.0, 1.0);
          pcm[i] = static_cast<float>(amp * std::sin(2 * M_PI * cycles));
          sum += pcm[i] * pcm[i];
        }
      }
      std::array<std::uint8_t, 1275> out{};
      int len = enc ? opus_encode_float(enc, pcm.data(), samples, out.data(), 1275) : 0;
      auto& fr = frames[n];
      if (len > 2 && len <= static_cast<int>(out.size()))
        fr.data.assign(out.data(), out.data() + static_cast<std::size_t>(len));
      double rms = std::sqrt(sum / pcm.size());
      int dbov = rms > 0 ? static_cast<int>(-20 * std::log10(rms)) : 127;
      fr.level = static_cast<std::uint8_t>((talking ? 0x80 : 0) | std::clamp(dbov, 0, 127));
    }
    if (enc) opus_encoder_destroy(enc);
  }

  std::vector<OpusFrame> frames20_, frames10_;
};

}  // namespace hype::bot
