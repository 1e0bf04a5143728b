#pragma once
// The dealer's side of GetShares: authorizes the caller against the batch's binding and
// streams its stored share masked with the batch's seed (PROTOCOL.md section 5).
#include "dealer/dealer_store.hpp"
#include "grpc/share_service.hpp"

namespace ppi::dealer {

class DealerShareSource final : public grpcsvc::ShareSource {
 public:
  explicit DealerShareSource(DealerStore& store) : store_(store) {}
  std::unique_ptr<grpcsvc::ShareReader> open(const std::string& batch_id,
                                             const std::string& caller_identity,
                                             std::uint64_t resume_from_element) override;

 private:
  DealerStore& store_;
};

}  // namespace ppi::dealer
