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

// For the online phase (model owner, client, in-process benchmarks): its vectors of shares are
// a few MB each and allocated afresh by every operation, so glibc's default of mapping and
// unmapping them makes the kernel zero every page again (a quarter of a GPT-2 pass's time in
// page clearing under perf). Keeps everything up to the largest threshold glibc allows
// (32 MiB) in the heap and the heap from shrinking; one arena, because a secondary arena's
// heaps are capped at 64 MiB and unmapped as they empty.
void tune_malloc_for_online();

}  // namespace ppi::app
