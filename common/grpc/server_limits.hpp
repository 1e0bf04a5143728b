#pragma once
// What every gRPC server of the deployment bounds, so that no peer can hold it (issue 15
// item 1): a connection must finish its TLS handshake within 10 s (gRPC's default is 120 s),
// a connection with no call for 5 minutes is closed, dead peers are found by keepalive pings,
// and one connection carries at most 64 concurrent calls on at most 64 threads in all.

#include <grpcpp/server_builder.h>

namespace ppi::grpcsvc {

void apply_server_limits(grpc::ServerBuilder& builder);

}  // namespace ppi::grpcsvc
