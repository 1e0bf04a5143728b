#include "run_members.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "core/error.hpp"
#include "gen/local_mesh.hpp"

namespace ppi::gen::testing {

std::vector<MemberResult> run_members(const material::MaterialPlan& plan,
                                      const std::vector<GroupKeys>& keys,
                                      const GenerationContext& context,
                                      std::chrono::milliseconds timeout,
                                      const std::vector<std::size_t>& absent) {
  LocalMeshHub hub(keys.size(), timeout);
  std::vector<MemberResult> results(keys.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (std::find(absent.begin(), absent.end(), i) != absent.end()) continue;
    threads.emplace_back([&, i] {
      try {
        results[i].share = generate_batch(plan, keys[i], context, hub.member(i));
      } catch (...) {
        results[i].error = std::current_exception();
      }
      results[i].bytes_sent = hub.member(i).bytes_sent();
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

std::vector<Bytes> shares_of(std::vector<MemberResult> results) {
  std::vector<Bytes> shares;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].error) {
      try {
        std::rethrow_exception(results[i].error);
      } catch (const std::exception& e) {
        FAIL("member " << i << " failed: " << e.what());
      }
    }
    shares.push_back(std::move(results[i].share));
  }
  return shares;
}

}  // namespace ppi::gen::testing
