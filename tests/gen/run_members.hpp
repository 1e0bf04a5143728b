#pragma once
// Runs generate_batch for every member of a group, each in its own thread, on one in-process
// mesh, and collects each member's share or error.

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "gen/generate.hpp"
#include "gen/group_keys.hpp"
#include "material/plan.hpp"

namespace ppi::gen::testing {

struct MemberResult {
  Bytes share;
  std::exception_ptr error;  // null when the member finished
  std::uint64_t bytes_sent = 0;
};

// Members listed in `absent` never start (a dealer that is down).
std::vector<MemberResult> run_members(const material::MaterialPlan& plan,
                                      const std::vector<GroupKeys>& keys,
                                      const GenerationContext& context,
                                      std::chrono::milliseconds timeout,
                                      const std::vector<std::size_t>& absent = {});

// The shares of a run that must have succeeded for every member (fails the test otherwise).
std::vector<Bytes> shares_of(std::vector<MemberResult> results);

}  // namespace ppi::gen::testing
