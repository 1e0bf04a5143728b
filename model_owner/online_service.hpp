#pragma once
// The model owner's side of the online phase (PROTOCOL.md section 6): the gRPC
// OnlineInference service. A client opens one stream per converted batch; the model owner
// checks that the batch is bound to that client and unused, loads its 2PC share and the
// model, tells the client what will run, and plays party 0 of the model's private program.

#include <memory>

#include "model_owner/mo_store.hpp"
#include "proto/online.grpc.pb.h"

namespace ppi::model_owner {

class OnlineService final : public ppi::online::v1::OnlineInference::Service {
 public:
  explicit OnlineService(std::shared_ptr<ModelOwnerStore> store) : store_(std::move(store)) {}

  grpc::Status Run(grpc::ServerContext* context,
                   grpc::ServerReaderWriter<ppi::online::v1::OnlineMessage,
                                            ppi::online::v1::OnlineMessage>* stream) override;

 private:
  std::shared_ptr<ModelOwnerStore> store_;
};

}  // namespace ppi::model_owner
