#pragma once

namespace ppi::app {

// For actors that stream large share chunks through gRPC (dealers, model owner): keeps glibc
// from returning and re-growing its heaps around gRPC's ~1 MiB buffers, which costs about half
// the throughput in page faults (bench_grpc_collect: 300 -> 746 MB/s over mTLS for 10^7
// elements) for some tens of MB of extra resident memory.
// One arena: with per-thread arenas, each secondary heap that empties is unmapped and faulted
// in again as the next buffers arrive (bench_converter, PostgreSQL, 10^7 elements: 320 -> 400
// MB/s). The actors allocate little besides those buffers, so the shared lock costs nothing
// measurable.
void tune_malloc_for_streaming();

}  // namespace ppi::app
