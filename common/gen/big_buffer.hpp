#pragma once
// Sizing of the large per-batch buffers (shares, matrix components, packed GEMM operands).
// Faulting in tens of MiB in 4 KiB pages costs as much as the GEMMs themselves on a
// virtualized host, so a fresh buffer above 4 MiB asks for transparent huge pages before its
// first touch. A hint only: where the kernel refuses, the buffer is an ordinary one.

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace ppi::gen {

// An allocator that leaves new elements uninitialized: batch-sized vectors are always
// written in full (PRF output, products) before they are read, so zero-filling them first
// would be one more pass over memory for nothing.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using BigVector = std::vector<T, UninitializedAllocator<T>>;

void hint_huge_pages(void* data, std::size_t bytes) noexcept;

// v.resize(n), with the hint when the resize allocates a large block.
template <class V>
void resize_big(V& v, std::size_t n) {
  using T = typename V::value_type;
  if (n > v.capacity() && n * sizeof(T) >= (std::size_t{4} << 20)) {
    V fresh;
    fresh.reserve(n);
    hint_huge_pages(fresh.data(), n * sizeof(T));
    fresh.assign(v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

}  // namespace ppi::gen
