#pragma once
// The model owner's side of the online phase (PROTOCOL.md section 6): the gRPC
// OnlineInference service. A client opens one stream per converted batch; the model owner
// checks that the batch is bound to that client and unused, loads its 2PC share and the
// model, tells the client what will run, and plays party 0 of the model's private program.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server.h>

#include "model_owner/mo_store.hpp"
#include "net/tls.hpp"
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

// The online service's gRPC server. Its messages are as long as the program's (StreamChannel
// sends up to online::kMaxWords words in one: a GPT-2's F of wte is 2^22 words per message),
// beyond the 4 MiB the share transport's grpcsvc::GrpcServer allows both ways.
class OnlineServer {
 public:
  // Port 0 picks a free port. Error(unavailable) when it cannot listen.
  OnlineServer(const std::string& address, std::uint16_t port,
               const std::optional<net::TlsOptions>& tls, OnlineService& service);
  ~OnlineServer() { shutdown(); }
  OnlineServer(const OnlineServer&) = delete;
  OnlineServer& operator=(const OnlineServer&) = delete;

  std::uint16_t port() const { return port_; }
  // Sessions still running get a second, then are cancelled. Idempotent.
  void shutdown();

 private:
  std::unique_ptr<grpc::Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace ppi::model_owner
