#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace ppi::test {
namespace {

using namespace std::chrono_literals;

// Runs f on one thread that lives as long as the process. PR_SET_PDEATHSIG fires when the
// *thread* that forked exits, so servers forked from a short-lived test thread would die with it.
pid_t on_keeper_thread(const std::function<pid_t()>& f) {
  struct Keeper {  // never destroyed: the thread may still wait on it during exit
    std::mutex call, m;
    std::condition_variable cv;
    const std::function<pid_t()>* job = nullptr;
    pid_t result = 0;
  };
  static Keeper* k = [] {
    auto* keeper = new Keeper;
    std::thread([keeper] {
      std::unique_lock lock(keeper->m);
      for (;;) {
        keeper->cv.wait(lock, [&] { return keeper->job != nullptr; });
        keeper->result = (*keeper->job)();
        keeper->job = nullptr;
        keeper->cv.notify_all();
      }
    }).detach();
    return keeper;
  }();
  std::lock_guard one_at_a_time(k->call);
  std::unique_lock lock(k->m);
  k->job = &f;
  k->cv.notify_all();
  k->cv.wait(lock, [&] { return k->job == nullptr; });
  return k->result;
}

}  // namespace

pid_t spawn(const SpawnOptions& o) {
  std::vector<char*> args;
  for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built before fork: only async-signal-safe calls may follow it.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const auto& extra : o.env) {
    const std::string key = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env_storage, [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    env_storage.push_back(extra);
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int out = ::open(o.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null_in < 0) {
    throw Error(Errc::internal, "spawn: cannot open " + o.log.string());
  }
  const pid_t parent = getpid();
  const pid_t pid = on_keeper_thread([&]() -> pid_t {
    const pid_t child = fork();
    if (child != 0) return child;
    dup2(null_in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (o.switch_user && (setgroups(0, nullptr) != 0 || setgid(o.gid) != 0 || setuid(o.uid) != 0)) {
      _exit(126);
    }
    // After setuid: changing credentials clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, o.death_signal);
    if (getppid() != parent) _exit(125);  // the parent died before prctl
    execve(args[0], args.data(), envp.data());
    _exit(127);
  });
  ::close(out);
  ::close(null_in);
  if (pid < 0) throw Error(Errc::internal, "spawn: fork failed");
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return 255;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(20ms);
  }
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
                           fs::path log)
    : log_(std::move(log)) {
  pid_ = spawn({std::move(argv), std::move(env), log_});
}

ChildProcess::~ChildProcess() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  if (wait(10s) < 0) {
    ::kill(pid_, SIGKILL);
    wait(10s);
  }
}

bool ChildProcess::running() {
  if (pid_ < 0 || status_ >= 0) return false;
  return wait(0ms) < 0;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (status_ < 0) status_ = wait_exit(pid_, timeout);
  return status_;
}

std::string ChildProcess::output() const {
  std::ifstream in(log_);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_program(std::vector<std::string> argv, std::vector<std::string> env, std::string& output,
                std::chrono::milliseconds timeout) {
  fs::path log = fs::temp_directory_path() /
                 ("ppi-run-" + std::to_string(getpid()) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  int status = -1;
  {
    ChildProcess child(std::move(argv), std::move(env), log);
    status = child.wait(timeout);
    output = child.output();
  }
  fs::remove(log);
  return status;
}

}  // namespace ppi::test
