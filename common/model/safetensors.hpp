#pragma once
// The Hugging Face safetensors format: an 8-byte little-endian header length N, N bytes of a
// JSON object header, then the byte buffer the header indexes:
//
//   {"__metadata__": {"key": "value", ...},                        (optional, strings only)
//    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//
// Offsets are relative to the start of the buffer. A model file comes from outside (the model
// owner registers it, a client may load a copy), so the reader is strict and every violation is
// an Error(invalid_argument) whose message names the tensor and the problem: the buffer must be
// covered exactly, tensor after tensor, with no hole and no overlap, as the format requires.

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "model/secret_vector.hpp"

namespace ppi::model {

// Element types this project reads and writes. Other dtypes of the format (U8, BOOL, I8, F8_*,
// ...) are recognised by name and rejected as unsupported; anything else is unknown.
// F16 is IEEE binary16; BF16 is the upper half of an IEEE binary32 (8 exponent bits, 7 stored
// mantissa bits), as torch stores them.
enum class DType { F16, BF16, F32, F64, I32, I64 };

std::string_view dtype_name(DType d) noexcept;
std::size_t dtype_size(DType d) noexcept;
// Throws Error(invalid_argument) for an unsupported or unknown dtype name.
DType parse_dtype(std::string_view name);

// Bounds of what the reader accepts (the header bound is the reference implementation's).
inline constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;
inline constexpr std::size_t kMaxRank = 8;

struct Tensor {
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;  // row-major; {} is a scalar (one element)
  SecretVector<std::uint8_t> data;   // numel() * dtype_size(dtype) bytes, little-endian

  std::uint64_t numel() const;

  // Every element as a double: exact for F16, BF16, F32, F64 and I32 (infinities and NaNs of
  // the float dtypes come out as such; refusing them is the model loader's business); an I64
  // element beyond 2^53 in magnitude throws Error(invalid_argument) rather than being rounded.
  SecretVector<double> to_doubles() const;
  // Integer tensors only (I32, I64); a float tensor throws Error(invalid_argument).
  std::vector<std::int64_t> to_int64s() const;

  // Builders, used by the writer's callers. F32 rounds each double to the nearest float; F16
  // and BF16 round each double directly (no double rounding through float) to nearest, ties
  // to even, as IEEE 754 does: a magnitude past the largest finite value becomes an infinity,
  // one below the smallest subnormal may become a signed zero, and infinities and NaNs are kept
  // (a NaN as the quiet NaN of its sign). Integer dtypes require integral values in range.
  // values.size() must match the shape.
  static Tensor from_doubles(DType dtype, std::vector<std::uint64_t> shape,
                             std::span<const double> values);
  static Tensor from_int64s(DType dtype, std::vector<std::uint64_t> shape,
                            std::span<const std::int64_t> values);
};

struct SafeTensors {
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::map<std::string, Tensor> tensors;

  // Throws Error(not_found) naming the missing tensor / key.
  const Tensor& tensor(const std::string& name) const;
  const std::string& meta(const std::string& key) const;
};

// Parses a whole file image. Throws Error(invalid_argument) on any violation of the format.
SafeTensors parse_safetensors(ByteView file);
// Reads and parses a file (the file's bytes are cleansed after parsing). Throws
// Error(not_found) when it cannot be opened, Error(invalid_argument) when malformed.
SafeTensors read_safetensors(const std::filesystem::path& path);

// Writes tensors in name order, each right after the previous one, and pads the header with
// spaces to a multiple of 8 bytes (as the reference writer does) so the buffer is aligned.
Bytes serialize_safetensors(const SafeTensors& st);
void write_safetensors(const std::filesystem::path& path, const SafeTensors& st);

// The raw framing (length, header text, buffer) without any check: how tests build malformed
// files, and what serialize_safetensors uses once it has a header.
Bytes frame_safetensors(std::string_view header, ByteView buffer);

}  // namespace ppi::model
