#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "compute/cpu_gemm.hpp"
#include "compute/cpu_gemm_isa.hpp"
#include "compute/ring_kernels.hpp"
#include "core/error.hpp"

namespace ppi::compute {

void check_gemm_shapes(std::size_t a, std::size_t b, std::size_t c, std::size_t m, std::size_t k,
                       std::size_t n) {
  if (a != m * k || b != k * n || c != m * n) {
    throw Error(Errc::invalid_argument, "gemm: buffer sizes do not match " + std::to_string(m) +
                                            "x" + std::to_string(k) + "x" + std::to_string(n));
  }
}

void check_mul_shapes(std::size_t x, std::size_t y, std::size_t out) {
  if (x != y || x != out) throw Error(Errc::invalid_argument, "mul: operand sizes differ");
}

namespace {

using detail::GemmArgs;

// The portable kernel: an i-k-j loop whose inner loop streams a row of B and a row of C, which
// the compiler vectorises for the baseline ISA.
void gemm_scalar(const GemmArgs& g) {
  constexpr std::size_t kBlock = 256;
  for (std::size_t i = 0; i < g.m; ++i) std::fill_n(g.c + i * g.ldc, g.n, u64{0});
  for (std::size_t k0 = 0; k0 < g.k; k0 += kBlock) {
    const std::size_t k1 = std::min(g.k, k0 + kBlock);
    for (std::size_t i = 0; i < g.m; ++i) {
      u64* crow = g.c + i * g.ldc;
      for (std::size_t p = k0; p < k1; ++p) {
        const u64 aip = g.a[i * g.lda + p];
        const u64* brow = g.b + p * g.ldb;
        for (std::size_t j = 0; j < g.n; ++j) crow[j] += aip * brow[j];
      }
    }
  }
}

void mul_scalar(const u64* x, const u64* y, u64* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = x[i] * y[i];
}

struct KernelEntry {
  CpuGemmKernel id;
  const char* name;
  void (*gemm)(const GemmArgs&);
  void (*mul)(const u64*, const u64*, u64*, std::size_t);
  std::size_t nr;  // thread splits of n fall on multiples of this
};

constexpr KernelEntry kKernels[] = {
    {CpuGemmKernel::scalar, "scalar", gemm_scalar, mul_scalar, 8},
#if PPI_GEMM_X86
    {CpuGemmKernel::avx2, "avx2", detail::gemm_avx2, detail::mul_avx2, detail::kAvx2Nr},
    {CpuGemmKernel::avx512, "avx512", detail::gemm_avx512, detail::mul_avx512, detail::kAvx512Nr},
#endif
};

const KernelEntry* find_kernel(CpuGemmKernel id) {
  for (const auto& e : kKernels) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

bool cpu_has(CpuGemmKernel id) {
  switch (id) {
    case CpuGemmKernel::scalar:
      return true;
#if PPI_GEMM_X86
    case CpuGemmKernel::avx2:
      return __builtin_cpu_supports("avx2");
    case CpuGemmKernel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
#endif
    default:
      return false;
  }
}

CpuGemmKernel kernel_from_env() {
  const char* env = std::getenv("PPI_GEMM_KERNEL");
  if (env == nullptr || *env == '\0') return supported_cpu_gemm_kernels().back();
  for (auto id : {CpuGemmKernel::scalar, CpuGemmKernel::avx2, CpuGemmKernel::avx512}) {
    if (cpu_gemm_kernel_name(id) == env) return id;
  }
  throw Error(Errc::config,
              std::string("PPI_GEMM_KERNEL: expected scalar, avx2 or avx512, got ") + env);
}

unsigned threads_from_env() {
  if (const char* env = std::getenv("PPI_GEMM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (*end != '\0' || v == 0 || v > 1024) {
      throw Error(Errc::config, std::string("PPI_GEMM_THREADS: expected 1..1024, got ") + env);
    }
    return static_cast<unsigned>(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// One workspace per thread, kept: every GEMM needs it and allocating it costs page faults.
u64* thread_workspace() {
  thread_local std::vector<u64> work(detail::kWorkspaceWords);
  return work.data();
}

class CpuKernels final : public RingKernels {
 public:
  CpuKernels(const KernelEntry& kernel, unsigned threads, std::uint64_t min_parallel_ops)
      : kernel_(kernel), threads_(threads), min_parallel_ops_(min_parallel_ops) {}

  std::string name() const override { return std::string("cpu-") + kernel_.name; }

  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    check_gemm_shapes(a.size(), b.size(), c.size(), m, k, n);
    if (m == 0 || n == 0) return;
    if (k == 0) {
      std::fill(c.begin(), c.end(), u64{0});
      return;
    }
    const GemmArgs whole{a.data(), k, b.data(), n, c.data(), n, m, k, n, nullptr};
    const std::uint64_t ops = std::uint64_t{m} * k * n;
    // The workers' workspaces belong to this object and are reused; a call made while another
    // holds them runs on its own thread alone.
    std::unique_lock lock(worker_mutex_, std::try_to_lock);
    const std::vector<GemmArgs> parts =
        ops >= min_parallel_ops_ && lock.owns_lock() ? split(whole) : std::vector<GemmArgs>{whole};
    if (worker_work_.size() + 1 < parts.size()) {
      worker_work_.resize(parts.size() - 1, std::vector<u64>(detail::kWorkspaceWords));
    }
    std::vector<std::thread> workers;
    workers.reserve(parts.size() - 1);
    for (std::size_t t = 1; t < parts.size(); ++t) {
      GemmArgs part = parts[t];
      part.work = worker_work_[t - 1].data();
      workers.emplace_back([this, part] { kernel_.gemm(part); });
    }
    GemmArgs first = parts[0];
    first.work = thread_workspace();
    kernel_.gemm(first);
    for (auto& w : workers) w.join();
  }

  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    check_mul_shapes(x.size(), y.size(), out.size());
    kernel_.mul(x.data(), y.data(), out.data(), x.size());
  }

 private:
  // Column bands when n is wide enough (each thread reads all of A, which is the smaller
  // operand in the model's shapes), else row bands; one part when neither splits.
  std::vector<GemmArgs> split(const GemmArgs& g) const {
    std::vector<GemmArgs> parts;
    const std::size_t nr = kernel_.nr;
    if (const std::size_t panels = (g.n + nr - 1) / nr; panels >= 2 * threads_) {
      for (unsigned t = 0; t < threads_; ++t) {
        const std::size_t j0 = panels * t / threads_ * nr;
        const std::size_t j1 = std::min(g.n, panels * (t + 1) / threads_ * nr);
        GemmArgs p = g;
        p.b += j0;
        p.c += j0;
        p.n = j1 - j0;
        parts.push_back(p);
      }
    } else if (g.m >= 2 * threads_) {
      for (unsigned t = 0; t < threads_; ++t) {
        const std::size_t i0 = g.m * t / threads_, i1 = g.m * (t + 1) / threads_;
        GemmArgs p = g;
        p.a += i0 * g.lda;
        p.c += i0 * g.ldc;
        p.m = i1 - i0;
        parts.push_back(p);
      }
    } else {
      parts.push_back(g);
    }
    return parts;
  }

  const KernelEntry& kernel_;
  unsigned threads_;
  std::uint64_t min_parallel_ops_;
  std::mutex worker_mutex_;
  std::vector<std::vector<u64>> worker_work_;
};

}  // namespace

std::string_view cpu_gemm_kernel_name(CpuGemmKernel kernel) {
  switch (kernel) {
    case CpuGemmKernel::scalar:
      return "scalar";
    case CpuGemmKernel::avx2:
      return "avx2";
    case CpuGemmKernel::avx512:
      return "avx512";
  }
  return "unknown";
}

bool cpu_gemm_kernel_supported(CpuGemmKernel kernel) {
  return find_kernel(kernel) != nullptr && cpu_has(kernel);
}

std::vector<CpuGemmKernel> supported_cpu_gemm_kernels() {
  std::vector<CpuGemmKernel> out;
  for (const auto& e : kKernels) {
    if (cpu_has(e.id)) out.push_back(e.id);
  }
  return out;
}

std::unique_ptr<RingKernels> make_cpu_kernels(const CpuKernelOptions& options) {
  const CpuGemmKernel id = options.kernel ? *options.kernel : kernel_from_env();
  if (!cpu_gemm_kernel_supported(id)) {
    throw Error(Errc::unavailable, "cpu gemm kernel " + std::string(cpu_gemm_kernel_name(id)) +
                                       " is not supported by this CPU or build");
  }
  const unsigned threads = options.threads != 0 ? options.threads : threads_from_env();
  return std::make_unique<CpuKernels>(*find_kernel(id), threads, options.min_parallel_ops);
}

std::unique_ptr<RingKernels> make_cpu_kernels() {
  return make_cpu_kernels(CpuKernelOptions{});
}

namespace {

// Small products stay on the CPU: below a few million multiply-adds the GPU's copies cost more
// than the arithmetic (bench/compute_bench.cpp on an H100: 64x64x32 takes 78 us on one core
// and 156 us on the GPU; 128x768x768 takes 45 ms and 0.94 ms). Elementwise products are
// memory-bound and never won on the GPU there, so they stay on the CPU too.
class SizeDispatchKernels final : public RingKernels {
 public:
  SizeDispatchKernels(std::unique_ptr<RingKernels> small, std::unique_ptr<RingKernels> large,
                      std::uint64_t min_large_gemm_ops)
      : small_(std::move(small)), large_(std::move(large)), min_ops_(min_large_gemm_ops) {}

  std::string name() const override { return small_->name() + "+" + large_->name(); }

  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    const std::uint64_t ops = std::uint64_t{m} * k * n;
    (ops >= min_ops_ ? *large_ : *small_).gemm(a, b, c, m, k, n);
  }
  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    small_->mul(x, y, out);
  }

 private:
  std::unique_ptr<RingKernels> small_, large_;
  std::uint64_t min_ops_;
};

}  // namespace

std::unique_ptr<RingKernels> make_size_dispatch_kernels(std::unique_ptr<RingKernels> small,
                                                        std::unique_ptr<RingKernels> large,
                                                        std::uint64_t min_large_gemm_ops) {
  return std::make_unique<SizeDispatchKernels>(std::move(small), std::move(large),
                                               min_large_gemm_ops);
}

std::unique_ptr<RingKernels> make_best_kernels() {
  if (cuda_device_count() > 0) {
    return make_size_dispatch_kernels(make_cpu_kernels(), make_cuda_kernels(), kMinGpuGemmOps);
  }
  return make_cpu_kernels();
}

}  // namespace ppi::compute
