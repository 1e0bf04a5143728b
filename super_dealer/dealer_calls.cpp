#include "super_dealer/dealer_calls.hpp"

#include <future>

namespace ppi::super_dealer {

void for_each_dealer(const std::vector<DealerRecord>& dealers,
                     const std::function<void(const DealerRecord&)>& call) {
  std::vector<std::future<void>> calls;
  for (const auto& d : dealers) {
    calls.push_back(std::async(std::launch::async, [&call, &d] { call(d); }));
  }
  std::exception_ptr first;
  for (auto& c : calls) {
    try {
      c.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

std::vector<dealer::api::Member> mesh_members(const std::vector<DealerRecord>& dealers) {
  std::vector<dealer::api::Member> members;
  for (const auto& d : dealers) members.push_back({d.dealer_id, d.grpc_endpoint});
  return members;
}

nlohmann::json call_dealer(const net::ClientOptions& options, const DealerRecord& d,
                           net::http::verb method, const std::string& path,
                           const nlohmann::json& body) {
  return net::call_json(options.to(d.dealer_id), method, d.rest_url + path, body);
}

}  // namespace ppi::super_dealer
