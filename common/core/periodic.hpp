#pragma once
// A background thread that runs one task every interval until stopped (the expiry sweeps of the
// dealer and the model owner). A task that throws is logged and run again at the next interval:
// a database that is down is tried again later.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "obs/log.hpp"

namespace ppi {

class Periodic {
 public:
  // Starts at once; the first run is one interval from now.
  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task)
      : name_(std::move(name)),
        interval_(interval),
        task_(std::move(task)),
        thread_([this] { run(); }) {}
  ~Periodic() { stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, interval_, [&] { return stopping_; })) return;
      }
      try {
        task_();
      } catch (const std::exception& e) {
        log::warn(name_ + "_failed", {{"reason", e.what()}});
      }
    }
  }

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts running in the constructor
};

}  // namespace ppi
