#pragma once
// Child processes for tests and the local deployment: database servers, and the actor
// executables themselves. Every child is tied to this process (PR_SET_PDEATHSIG), so a crashed
// test leaves nothing running.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace ppi::test {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // "KEY=VALUE" entries added to this process's environment
  std::filesystem::path log;      // stdout and stderr are appended here
  bool switch_user = false;       // run as uid/gid (root only)
  uid_t uid = 0;
  gid_t gid = 0;
  int death_signal = SIGKILL;  // sent to the child when this process dies
};

// Forks and execs; throws Error(internal) when the log cannot be opened or fork fails.
pid_t spawn(const SpawnOptions& options);
// The exit status of pid (128 + signal when killed), or -1 if it still runs after timeout.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// A child that is stopped (SIGTERM, then SIGKILL after 10 s) when the object goes away.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
               std::filesystem::path log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit status, or -1 on timeout (the process keeps running).
  int wait(std::chrono::milliseconds timeout);
  // What the child wrote to stdout and stderr so far.
  std::string output() const;

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs a program to completion; returns its exit status and fills `output` (stdout + stderr).
int run_program(std::vector<std::string> argv, std::vector<std::string> env, std::string& output,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace ppi::test
