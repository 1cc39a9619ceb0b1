// Which media worker a voice channel's room lives on. A room lives on exactly one worker
// (ARCHITECTURE.md, runtime model), so every participant of a channel must be sent to the
// same one until the room empties. SfuService asks through this interface only; the cluster
// work can put a node-aware implementation (channel -> node -> worker, from the
// Coordinator's placement) behind it without touching signaling. Called on the signaling
// strand only: implementations need no locking of their own.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace hype::sfu {

class WorkerPlacement {
 public:
  virtual ~WorkerPlacement() = default;
  // The worker for `channel`: the one it is placed on, or a new placement.
  virtual int place(std::uint64_t channel) = 0;
  // Where `channel` is placed now, without placing it.
  virtual std::optional<int> find(std::uint64_t channel) const = 0;
  // The channel's room emptied: its next participant may be placed anywhere.
  virtual void release(std::uint64_t channel) = 0;
};

// The default: a new channel goes to the worker with the fewest placed channels (the lowest
// index on a tie) and stays there until released.
class LeastLoadedPlacement final : public WorkerPlacement {
 public:
  explicit LeastLoadedPlacement(int workers);
  int place(std::uint64_t channel) override;
  std::optional<int> find(std::uint64_t channel) const override;
  void release(std::uint64_t channel) override;

 private:
  std::vector<int> load_;  // worker -> channels placed on it
  std::unordered_map<std::uint64_t, int> placed_;
};

}  // namespace hype::sfu
