// available_cpus follows the affinity mask (taskset, cpusets), not the machine's core count;
// set_thread_name and lower_thread_priority act on the calling thread only.
#include "core/threads.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace hype {
namespace {

pid_t tid() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

TEST(Threads, AvailableCpusFollowsTheAffinityMask) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  EXPECT_EQ(available_cpus(), CPU_COUNT(&mask));
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &mask)) first = c;
  std::thread([first] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);  // this thread only
    EXPECT_EQ(available_cpus(), 1);
  }).join();
  EXPECT_EQ(available_cpus(), CPU_COUNT(&mask));
}

TEST(Threads, NameAndPriorityOfTheCallingThreadOnly) {
  errno = 0;
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(tid()));
  std::thread([before] {
    set_thread_name("hype-test-thread-name-too-long");
    std::ifstream comm("/proc/self/task/" + std::to_string(tid()) + "/comm");
    std::string name;
    std::getline(comm, name);
    EXPECT_EQ(name, "hype-test-threa");  // 15 bytes kept
    lower_thread_priority(3);
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(tid())), std::min(19, before + 3));
    lower_thread_priority(0);  // no change
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(tid())), std::min(19, before + 3));
  }).join();
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(tid())), before);
}

}  // namespace
}  // namespace hype
