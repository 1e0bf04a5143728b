#pragma once
// Byte buffers and hex: the representation of binary data everywhere in the project.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ppi {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

std::string to_hex(ByteView data);
// Throws Error(invalid_argument) on odd length or a non-hex character.
Bytes from_hex(std::string_view hex);

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Overwrites secret data (keys, seeds, shares) before the memory is released.
void cleanse(void* data, std::size_t size) noexcept;
inline void cleanse(Bytes& b) noexcept {
  cleanse(b.data(), b.size());
}

}  // namespace ppi
