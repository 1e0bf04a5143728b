#pragma once
// Timing shared by the benchmarks.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace ppi::bench {

// The fastest of `reps` runs of f, in seconds.
inline double best_seconds(int reps, const std::function<void()>& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  return best;
}

// CPU time the whole machine spent busy (every process, user and system, not idle or waiting
// for I/O) since boot, in seconds, from /proc/stat; 0 where it cannot be read. The difference
// over a run measures the work of processes the benchmark does not own, e.g. database servers.
inline double machine_busy_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu")
    return 0;
  (void)idle;
  (void)iowait;
  (void)steal;
  return static_cast<double>(user + nice + system + irq + softirq) / 100.0;  // USER_HZ
}

// CPU time of this process (all threads, user and system), in seconds.
inline double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// "32,64,128" -> {32, 64, 128}; std::stoul's exception on a bad item.
inline std::vector<std::uint32_t> parse_u32_list(const std::string& s) {
  std::vector<std::uint32_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(static_cast<std::uint32_t>(std::stoul(item)));
  return out;
}

}  // namespace ppi::bench
