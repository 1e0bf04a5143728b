#!/usr/bin/env bash
# Builds the compute kernels and bench_compute with nvcc and g++ alone (a GPU machine without
# the project's Debian packages), then runs it: every CUDA result is compared with the CPU's.
#   bash bench/cuda_device_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/ppi-cuda-check}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
nvcc --version | tail -1
inc="-Icommon"
nvcc -O3 -std=c++17 $inc -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  -c common/compute/cuda_kernels.cu -o "$out/cuda_kernels.o"
for f in common/compute/cuda_backend.cpp common/compute/cpu_kernels.cpp common/core/error.cpp bench/compute_bench.cpp; do
  g++ -O3 -std=c++20 $inc -DPPI_HAVE_CUDA=1 -I/usr/local/cuda/include -c "$f" -o "$out/$(basename "$f").o"
done
g++ -o "$out/bench_compute" "$out"/*.o -L/usr/local/cuda/lib64 -lcudart -lpthread
"$out/bench_compute"
