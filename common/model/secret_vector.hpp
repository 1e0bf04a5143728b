#pragma once
// Model weights are the model owner's secret: every buffer that holds them (a tensor's bytes,
// a layer's float or fixed-point weights) is overwritten before its memory goes back to the
// heap, including the old buffers a growing vector leaves behind.

#include <cstddef>
#include <memory>
#include <vector>

#include "core/bytes.hpp"

namespace ppi::model {

template <class T>
struct CleansingAllocator : std::allocator<T> {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = CleansingAllocator<U>;
  };

  CleansingAllocator() noexcept = default;
  template <class U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}

  void deallocate(T* p, std::size_t n) noexcept {
    ppi::cleanse(p, n * sizeof(T));
    std::allocator<T>::deallocate(p, n);
  }
};

template <class T, class U>
bool operator==(const CleansingAllocator<T>&, const CleansingAllocator<U>&) noexcept {
  return true;
}

template <class T>
using SecretVector = std::vector<T, CleansingAllocator<T>>;

}  // namespace ppi::model
