#include "grpc/server_limits.hpp"

#include <grpcpp/resource_quota.h>

namespace ppi::grpcsvc {

void apply_server_limits(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 64);
  // The quota outlives this call: the builder keeps a reference to it.
  grpc::ResourceQuota quota("ppi-grpc-server");
  quota.SetMaxThreads(64);
  builder.SetResourceQuota(quota);
}

}  // namespace ppi::grpcsvc
