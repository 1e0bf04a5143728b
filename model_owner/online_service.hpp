#pragma once
// The model owner's side of the online phase (PROTOCOL.md section 6): the gRPC
// OnlineInference service. A client opens one stream per converted batch; the model owner
// checks that the batch is bound to that client and unused, loads its 2PC share and the
// model, tells the client what will run, and plays party 0 of the model's private program.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/server.h>

#include "crypto/sha256.hpp"
#include "model/gpt2.hpp"
#include "model_owner/mo_store.hpp"
#include "net/tls.hpp"
#include "online/stream_channel.hpp"
#include "proto/online.grpc.pb.h"

namespace ppi::model_owner {

// A GPT-2's weights folded and encoded, shared by the sessions of one model file.
struct LoadedGpt2 {
  Sha256Digest file_digest;
  std::shared_ptr<const model::Gpt2FixedWeights> weights;
};

class OnlineService final : public ppi::online::v1::OnlineInference::Service {
 public:
  explicit OnlineService(std::shared_ptr<ModelOwnerStore> store) : store_(std::move(store)) {}

  grpc::Status Run(grpc::ServerContext* context,
                   grpc::ServerReaderWriter<ppi::online::v1::OnlineMessage,
                                            ppi::online::v1::OnlineMessage>* stream) override;

 private:
  // The model's folded fixed-point weights, loaded once per weights file (a GPT-2-small fold is
  // seconds of work that every session would otherwise repeat).
  LoadedGpt2 gpt2_weights(const std::string& model_id, const OnlineModel& model);

  std::shared_ptr<ModelOwnerStore> store_;
  std::mutex mu_;
  std::map<std::string, LoadedGpt2> gpt2_cache_;
};

// The online service's messages are as long as the program's (StreamChannel sends up to
// online::kMaxWords words in one: a GPT-2's F of wte is 2^22 words per message), beyond the
// 4 MiB the share transport's gRPC servers allow.
inline constexpr int kOnlineMaxMessageBytes = static_cast<int>(8 * online::kMaxWords + 64 * 1024);

}  // namespace ppi::model_owner
