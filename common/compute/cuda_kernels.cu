// CUDA kernels of the ring backend. 64-bit integer multiply-add wraps mod 2^64 exactly as on the
// CPU, so results match the CPU backend bit for bit.
#include <cuda_runtime.h>

#include "compute/cuda_launch.hpp"

namespace ppi::compute::cuda {
namespace {

using u64 = std::uint64_t;
constexpr int kTile = 16;

// Shared-memory tiled product: each block computes a kTile x kTile tile of C.
__global__ void gemm_kernel(const u64* a, const u64* b, u64* c, size_t m, size_t k, size_t n) {
  __shared__ u64 as[kTile][kTile];
  __shared__ u64 bs[kTile][kTile];
  size_t row = blockIdx.y * kTile + threadIdx.y;
  size_t col = blockIdx.x * kTile + threadIdx.x;
  u64 acc = 0;
  for (size_t t = 0; t < k; t += kTile) {
    as[threadIdx.y][threadIdx.x] =
        (row < m && t + threadIdx.x < k) ? a[row * k + t + threadIdx.x] : 0;
    bs[threadIdx.y][threadIdx.x] =
        (col < n && t + threadIdx.y < k) ? b[(t + threadIdx.y) * n + col] : 0;
    __syncthreads();
    for (int p = 0; p < kTile; ++p) acc += as[threadIdx.y][p] * bs[p][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

__global__ void mul_kernel(const u64* x, const u64* y, u64* out, size_t size) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < size) out[i] = x[i] * y[i];
}

// Device memory that frees itself; `status` keeps the first failure.
struct DeviceBuffer {
  u64* ptr = nullptr;
  DeviceBuffer(size_t count, cudaError_t& status) {
    if (status == cudaSuccess) status = cudaMalloc(&ptr, count * sizeof(u64) + 1);
  }
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

void copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaError_t& status) {
  if (status == cudaSuccess && bytes > 0) status = cudaMemcpy(dst, src, bytes, kind);
}

const char* result(cudaError_t status) {
  return status == cudaSuccess ? "" : cudaGetErrorString(status);
}

}  // namespace

const char* gemm_u64(const u64* a, const u64* b, u64* c, size_t m, size_t k, size_t n) {
  cudaError_t status = cudaSuccess;
  DeviceBuffer da(m * k, status), db(k * n, status), dc(m * n, status);
  copy(da.ptr, a, m * k * sizeof(u64), cudaMemcpyHostToDevice, status);
  copy(db.ptr, b, k * n * sizeof(u64), cudaMemcpyHostToDevice, status);
  if (status == cudaSuccess) {
    dim3 block(kTile, kTile);
    dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile),
              static_cast<unsigned>((m + kTile - 1) / kTile));
    gemm_kernel<<<grid, block>>>(da.ptr, db.ptr, dc.ptr, m, k, n);
    status = cudaGetLastError();
  }
  copy(c, dc.ptr, m * n * sizeof(u64), cudaMemcpyDeviceToHost, status);
  return result(status);
}

const char* mul_u64(const u64* x, const u64* y, u64* out, size_t size) {
  cudaError_t status = cudaSuccess;
  DeviceBuffer dx(size, status), dy(size, status), dout(size, status);
  copy(dx.ptr, x, size * sizeof(u64), cudaMemcpyHostToDevice, status);
  copy(dy.ptr, y, size * sizeof(u64), cudaMemcpyHostToDevice, status);
  if (status == cudaSuccess && size > 0) {
    mul_kernel<<<static_cast<unsigned>((size + 255) / 256), 256>>>(dx.ptr, dy.ptr, dout.ptr, size);
    status = cudaGetLastError();
  }
  copy(out, dout.ptr, size * sizeof(u64), cudaMemcpyDeviceToHost, status);
  return result(status);
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;  // no driver or no device
  return count;
}

}  // namespace ppi::compute::cuda
