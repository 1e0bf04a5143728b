#pragma once
// Sizing of the large per-batch buffers (shares, matrix components, packed GEMM operands).
// Faulting in tens of MiB in 4 KiB pages costs as much as the GEMMs themselves on a
// virtualized host, so a fresh buffer above 4 MiB asks for transparent huge pages before its
// first touch. A hint only: where the kernel refuses, the buffer is an ordinary one.

#include <cstddef>
#include <vector>

namespace ppi::gen {

void hint_huge_pages(void* data, std::size_t bytes) noexcept;

// v.resize(n), with the hint when the resize allocates a large block.
template <class T>
void resize_big(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity() && n * sizeof(T) >= (std::size_t{4} << 20)) {
    std::vector<T> fresh;
    fresh.reserve(n);
    hint_huge_pages(fresh.data(), n * sizeof(T));
    fresh.assign(v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

}  // namespace ppi::gen
