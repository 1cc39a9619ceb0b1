// Threads as the operating system sees them: how many CPUs this process may run on (its
// affinity mask, which taskset, cgroup cpusets and container CPU pinning narrow; not the
// machine's core count, which std::thread::hardware_concurrency reports), and a name for the
// calling thread (top -H, perf, /proc/PID/task/TID/comm) so an operator can tell the media
// workers from the event loop.
#pragma once

#include <string_view>

namespace hype {

// CPUs in the calling thread's affinity mask; at least 1.
int available_cpus();

// Names the calling thread (at most 15 bytes are kept); errors are ignored.
void set_thread_name(std::string_view name);

// Adds `nice` to the calling thread's nice value (Linux: per thread), so it yields to threads
// that kept theirs; errors are ignored. Threads it creates afterwards inherit it.
void lower_thread_priority(int nice);

}  // namespace hype
