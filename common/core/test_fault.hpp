#pragma once
// Test hook (crash-consistency tests only, docs/protocol.md section 5.2): with
// PPI_TEST_FAULT=<name> in its environment, a process _exits at the fault point of that name,
// as a kill -9 there would stop it (no destructors, no rollback of what is committed). Without
// the variable it does nothing. Each point is named after the step it follows.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ppi {

inline constexpr int kTestFaultExitCode = 86;

inline void test_fault_point(const char* name) {
  const char* fault = std::getenv("PPI_TEST_FAULT");
  if (fault == nullptr || std::strcmp(fault, name) != 0) return;
  std::fprintf(stderr, "PPI_TEST_FAULT: exiting at %s\n", name);
  std::fflush(stderr);
  std::_Exit(kTestFaultExitCode);
}

}  // namespace ppi
