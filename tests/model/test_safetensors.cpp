#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "expect_error.hpp"
#include "model/safetensors.hpp"
#include "ring/z2k.hpp"

using namespace ppi;
using namespace ppi::model;

namespace {

Bytes zeros(std::size_t n) {
  return Bytes(n, 0);
}

void expect_rejected(const Bytes& file, const std::string& needle) {
  expect_invalid_argument([&] { (void)parse_safetensors(file); }, needle);
}

void expect_rejected(const std::string& header, std::size_t buffer_bytes,
                     const std::string& needle) {
  expect_rejected(frame_safetensors(header, zeros(buffer_bytes)), needle);
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

}  // namespace

TEST_CASE("safetensors: a written file reads back with dtypes, shapes, values and metadata") {
  SafeTensors st;
  st.metadata = {{"ppi.architecture", "mlp"}, {"note", "x"}};
  const std::vector<double> w = {1.5, -2.25, 0.0, 3.0e-3, 7.0, -1.0};
  st.tensors.emplace("w", Tensor::from_doubles(DType::F32, {2, 3}, w));
  st.tensors.emplace("d",
                     Tensor::from_doubles(DType::F64, {3}, std::vector<double>{0.1, -0.2, 1e300}));
  st.tensors.emplace(
      "i", Tensor::from_int64s(DType::I32, {2}, std::vector<std::int64_t>{-7, 2147483647}));
  st.tensors.emplace("l", Tensor::from_int64s(DType::I64, {1, 1},
                                              std::vector<std::int64_t>{-(std::int64_t{1} << 60)}));
  st.tensors.emplace("scalar", Tensor::from_doubles(DType::F64, {}, std::vector<double>{42.0}));
  st.tensors.emplace("empty", Tensor::from_doubles(DType::F32, {0, 4}, std::vector<double>{}));

  const Bytes file = serialize_safetensors(st);
  // The header is padded so that the buffer starts 8-byte aligned.
  CHECK(load_u64_le(file.data()) % 8 == 0);
  const SafeTensors back = parse_safetensors(file);
  CHECK(back.metadata == st.metadata);
  REQUIRE(back.tensors.size() == st.tensors.size());

  const Tensor& bw = back.tensor("w");
  CHECK(bw.dtype == DType::F32);
  CHECK(bw.shape == std::vector<std::uint64_t>{2, 3});
  const auto wd = bw.to_doubles();
  for (std::size_t i = 0; i < w.size(); ++i)
    CHECK(wd[i] == static_cast<double>(static_cast<float>(w[i])));
  const auto dd = back.tensor("d").to_doubles();
  CHECK(dd[0] == 0.1);
  CHECK(dd[1] == -0.2);
  CHECK(dd[2] == 1e300);
  CHECK(back.tensor("i").to_int64s() == std::vector<std::int64_t>{-7, 2147483647});
  CHECK(back.tensor("i").to_doubles()[0] == -7.0);
  CHECK(back.tensor("l").to_int64s() == std::vector<std::int64_t>{-(std::int64_t{1} << 60)});
  CHECK(back.tensor("scalar").numel() == 1);
  CHECK(back.tensor("scalar").to_doubles()[0] == 42.0);
  CHECK(back.tensor("empty").numel() == 0);
  CHECK(back.meta("note") == "x");
  CHECK(serialize_safetensors(back) == file);
}

TEST_CASE("safetensors: a file can list tensors in any order and without padding") {
  // Little-endian F32 1.0 and 2.0; "b" comes first in the buffer but last in the header.
  Bytes buffer = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
  const std::string header =
      "{" + entry("a", "F32", "[1]", "[4,8]") + "," + entry("b", "F32", "[1]", "[0,4]") + "}";
  const SafeTensors st = parse_safetensors(frame_safetensors(header, buffer));
  CHECK(st.tensor("a").to_doubles()[0] == 2.0);
  CHECK(st.tensor("b").to_doubles()[0] == 1.0);
  CHECK(st.metadata.empty());
  CHECK(parse_safetensors(frame_safetensors("{}", {})).tensors.empty());
  CHECK(parse_safetensors(frame_safetensors("  {}    ", {})).tensors.empty());
}

TEST_CASE("safetensors: lookups and conversions refuse what is not there or not exact") {
  SafeTensors st;
  st.tensors.emplace("f", Tensor::from_doubles(DType::F32, {1}, std::vector<double>{1.0}));
  st.tensors.emplace(
      "big",
      Tensor::from_int64s(DType::I64, {1}, std::vector<std::int64_t>{(std::int64_t{1} << 53) + 1}));
  const SafeTensors back = parse_safetensors(serialize_safetensors(st));
  CHECK_THROWS_AS(back.tensor("missing"), Error);
  try {
    (void)back.meta("missing");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
  CHECK_THROWS_WITH_AS(back.tensor("big").to_doubles(), doctest::Contains("not exactly"), Error);
  CHECK_THROWS_WITH_AS(back.tensor("f").to_int64s(), doctest::Contains("read as integers"), Error);
  CHECK_THROWS_AS(Tensor::from_doubles(DType::F32, {2}, std::vector<double>{1.0}), Error);
  CHECK_THROWS_AS(Tensor::from_doubles(DType::I32, {1}, std::vector<double>{0.5}), Error);
  CHECK_THROWS_AS(Tensor::from_doubles(DType::I32, {1}, std::vector<double>{4294967296.0}), Error);
  CHECK_THROWS_AS(read_safetensors("/nonexistent/model.safetensors"), Error);
}

TEST_CASE("safetensors: framing errors") {
  expect_rejected(Bytes{1, 2, 3}, "shorter than the 8-byte header length");
  expect_rejected(Bytes{}, "shorter than the 8-byte header length");

  Bytes too_long = frame_safetensors("{}", {});
  store_u64_le(too_long.data(), 3);
  expect_rejected(too_long, "beyond the end of the file");

  Bytes huge = zeros(16);
  store_u64_le(huge.data(), kMaxHeaderBytes + 1);
  expect_rejected(huge, "not a safetensors file: its first 8 bytes give a header length of");
  store_u64_le(huge.data(), ~std::uint64_t{0});
  expect_rejected(huge, "above the bound");
}

TEST_CASE("safetensors: header errors") {
  expect_rejected("{not json", 0, "not valid JSON");
  expect_rejected("{} trailing", 0, "not valid JSON");
  expect_rejected("", 0, "not valid JSON");
  expect_rejected("[1,2]", 0, "not a JSON object");
  expect_rejected("\"a string\"", 0, "not a JSON object");
  expect_rejected("{\"t\":[1]}", 0, "tensor \"t\" is not an object");
  expect_rejected("{\"__metadata__\":[]}", 0, "__metadata__ is not an object");
  expect_rejected("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ \"k\" is not a string");
  expect_rejected("{" + entry("", "F32", "[1]", "[0,4]") + "}", 4, "empty name");
}

TEST_CASE("safetensors: duplicate names are refused, at the top level and inside an entry") {
  const std::string a = entry("a", "F32", "[1]", "[0,4]");
  expect_rejected("{" + a + "," + a + "}", 4, "duplicate key \"a\"");
  expect_rejected("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate key \"k\"");
  expect_rejected(
      "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
      "duplicate key \"dtype\"");
}

TEST_CASE("safetensors: entry fields") {
  expect_rejected("{" + entry("t", "F17", "[1]", "[0,4]") + "}", 4, "unknown dtype \"F17\"");
  expect_rejected("{" + entry("t", "f32", "[1]", "[0,4]") + "}", 4, "unknown dtype \"f32\"");
  expect_rejected("{" + entry("t", "U8", "[4]", "[0,4]") + "}", 4, "unsupported dtype \"U8\"");
  expect_rejected("{" + entry("t", "BOOL", "[4]", "[0,4]") + "}", 4, "unsupported dtype");
  expect_rejected("{" + entry("t", "F8_E4M3", "[4]", "[0,4]") + "}", 4, "unsupported dtype");
  expect_rejected("{" + entry("t", "f16", "[2]", "[0,4]") + "}", 4, "unknown dtype \"f16\"");
  expect_rejected("{" + entry("t", "F16", "[3]", "[0,4]") + "}", 4, "need 6 bytes");
  expect_rejected("{\"t\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "dtype is not a string");
  expect_rejected("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing field \"dtype\"");
  expect_rejected("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                  "missing field \"shape\"");
  expect_rejected("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing field \"data_offsets\"");
  expect_rejected("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":0}}", 4,
                  "unexpected field \"extra\"");

  expect_rejected("{" + entry("t", "F32", "[2.0]", "[0,8]") + "}", 8,
                  "dimension 0 is not an integer");
  expect_rejected("{" + entry("t", "F32", "[\"2\"]", "[0,8]") + "}", 8, "is not an integer");
  expect_rejected("{" + entry("t", "F32", "[2, -1]", "[0,8]") + "}", 8, "dimension 1 is negative");
  expect_rejected("{" + entry("t", "F32", "3", "[0,12]") + "}", 12, "shape is not an array");
  expect_rejected("{" + entry("t", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") + "}", 4, "rank 9");
  expect_rejected("{" + entry("t", "F32", "[4294967296,4294967296]", "[0,4]") + "}", 4,
                  "overflows");
  expect_rejected("{" + entry("t", "F32", "[1e30]", "[0,4]") + "}", 4, "not an integer");
}

TEST_CASE("safetensors: sizes and offsets") {
  expect_rejected("{" + entry("t", "F32", "[3]", "[0,8]") + "}", 8,
                  "need 12 bytes but data_offsets span 8");
  expect_rejected("{" + entry("t", "F64", "[2]", "[0,8]") + "}", 8, "need 16 bytes");
  expect_rejected("{" + entry("t", "F32", "[4]", "[0,16]") + "}", 8,
                  "beyond the buffer of 8 bytes");
  expect_rejected("{" + entry("t", "F32", "[2]", "[8,0]") + "}", 8, "reversed");
  expect_rejected("{" + entry("t", "F32", "[2]", "[0]") + "}", 8, "not an array [begin, end]");
  expect_rejected("{" + entry("t", "F32", "[2]", "[0,8,8]") + "}", 8, "not an array [begin, end]");
  expect_rejected("{" + entry("t", "F32", "[2]", "[-1,7]") + "}", 8, "begin is negative");
  expect_rejected("{" + entry("t", "F32", "[2]", "[0,8.0]") + "}", 8, "end is not an integer");
  expect_rejected(
      "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12,
      "overlaps");
  expect_rejected(
      "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[0,8]") + "}", 8,
      "overlaps");
  expect_rejected(
      "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}", 12,
      "hole in the buffer: bytes [4, 8)");
  expect_rejected("{" + entry("a", "F32", "[1]", "[4,8]") + "}", 8,
                  "hole in the buffer: bytes [0, 4)");
  expect_rejected("{" + entry("a", "F32", "[1]", "[0,4]") + "}", 6, "2 trailing bytes");
}

namespace {

std::uint16_t half_bits(DType dtype, double v) {
  const Tensor t = Tensor::from_doubles(dtype, {1}, std::vector<double>{v});
  std::uint16_t bits;
  std::memcpy(&bits, t.data.data(), 2);
  return bits;
}

double half_value(DType dtype, std::uint16_t bits) {
  Tensor t{dtype, {1}, {}};
  t.data.resize(2);
  std::memcpy(t.data.data(), &bits, 2);
  return t.to_doubles()[0];
}

// Every bit pattern decodes to a value that encodes back to the same pattern (NaNs excepted,
// which come back as the quiet NaN of their sign).
void check_all_patterns_round_trip(DType dtype, std::uint16_t quiet_nan) {
  Tensor t{dtype, {65536}, {}};
  t.data.resize(2 * 65536);
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    std::memcpy(t.data.data() + 2 * b, &bits, 2);
  }
  const SecretVector<double> values = t.to_doubles();
  const Tensor back = Tensor::from_doubles(dtype, {65536}, values);
  std::size_t nans = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    std::uint16_t got;
    std::memcpy(&got, back.data.data() + 2 * b, 2);
    if (std::isnan(values[b])) {
      ++nans;
      CHECK(got == (quiet_nan | (b & 0x8000)));
    } else if (got != b) {
      CAPTURE(b);
      CHECK(got == b);
    }
  }
  CHECK(nans == (dtype == DType::F16 ? 2 * 1023u : 2 * 127u));
}

}  // namespace

TEST_CASE("safetensors: F16 reads exactly and writes round to nearest, ties to even") {
  CHECK(dtype_size(DType::F16) == 2);
  CHECK(parse_dtype("F16") == DType::F16);
  CHECK(half_bits(DType::F16, 1.0) == 0x3C00);
  CHECK(half_bits(DType::F16, -2.0) == 0xC000);
  CHECK(half_bits(DType::F16, -0.0) == 0x8000);
  CHECK(half_bits(DType::F16, 65504.0) == 0x7BFF);
  CHECK(half_bits(DType::F16, std::ldexp(1.0, -14)) == 0x0400);         // smallest normal
  CHECK(half_bits(DType::F16, 1023 * std::ldexp(1.0, -24)) == 0x03FF);  // largest subnormal
  CHECK(half_bits(DType::F16, std::ldexp(1.0, -24)) == 0x0001);         // smallest subnormal
  // Ties: to the even neighbour, in the normal and the subnormal range and at the top.
  CHECK(half_bits(DType::F16, 1.0 + std::ldexp(1.0, -11)) == 0x3C00);
  CHECK(half_bits(DType::F16, 1.0 + 3 * std::ldexp(1.0, -11)) == 0x3C02);
  CHECK(half_bits(DType::F16, std::ldexp(1.0, -25)) == 0x0000);
  CHECK(half_bits(DType::F16, 3 * std::ldexp(1.0, -25)) == 0x0002);
  CHECK(half_bits(DType::F16, 0.75 * std::ldexp(1.0, -24)) == 0x0001);
  CHECK(half_bits(DType::F16, 1023.5 * std::ldexp(1.0, -24)) == 0x0400);  // up into normals
  CHECK(half_bits(DType::F16, 65519.99) == 0x7BFF);
  CHECK(half_bits(DType::F16, 65520.0) == 0x7C00);  // the tie past the largest goes to inf
  CHECK(half_bits(DType::F16, 1e300) == 0x7C00);
  CHECK(half_bits(DType::F16, -1e-300) == 0x8000);
  // Rounded from the double, not through a float (which would land on the tie first).
  CHECK(half_bits(DType::F16, 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)) == 0x3C01);
  CHECK(half_bits(DType::F16, std::numeric_limits<double>::infinity()) == 0x7C00);
  CHECK(half_bits(DType::F16, -std::numeric_limits<double>::infinity()) == 0xFC00);
  CHECK(half_bits(DType::F16, std::numeric_limits<double>::quiet_NaN()) == 0x7E00);

  CHECK(half_value(DType::F16, 0x0001) == std::ldexp(1.0, -24));
  CHECK(half_value(DType::F16, 0x83FF) == -1023 * std::ldexp(1.0, -24));
  CHECK(half_value(DType::F16, 0x3555) == (1.0 + 341.0 / 1024) / 4);
  CHECK(std::signbit(half_value(DType::F16, 0x8000)));
  CHECK(half_value(DType::F16, 0xFC00) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(half_value(DType::F16, 0x7C01)));
  check_all_patterns_round_trip(DType::F16, 0x7E00);

#ifdef __FLT16_MAX__
  // The compiler's own double -> _Float16 conversion (IEEE, to nearest even) as a second
  // opinion on random doubles across the whole range.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> mantissa(-2.0, 2.0);
  std::uniform_int_distribution<int> exponent(-30, 18);
  for (int i = 0; i < 20000; ++i) {
    const double v = std::ldexp(mantissa(rng), exponent(rng));
    const auto h = static_cast<_Float16>(v);
    std::uint16_t expected;
    std::memcpy(&expected, &h, 2);
    if (half_bits(DType::F16, v) != expected) {
      CAPTURE(v);
      CHECK(half_bits(DType::F16, v) == expected);
    }
  }
#endif
}

TEST_CASE("safetensors: BF16 reads exactly and writes round to nearest, ties to even") {
  CHECK(dtype_size(DType::BF16) == 2);
  CHECK(dtype_name(DType::BF16) == "BF16");
  CHECK(half_bits(DType::BF16, 1.0) == 0x3F80);
  CHECK(half_bits(DType::BF16, -2.0) == 0xC000);
  CHECK(half_bits(DType::BF16, 1.0 + std::ldexp(1.0, -8)) == 0x3F80);
  CHECK(half_bits(DType::BF16, 1.0 + 3 * std::ldexp(1.0, -8)) == 0x3F82);
  CHECK(half_bits(DType::BF16, std::ldexp(1.0, -133)) == 0x0001);   // smallest subnormal
  CHECK(half_bits(DType::BF16, std::ldexp(1.0, -134)) == 0x0000);   // tie to even zero
  CHECK(half_bits(DType::BF16, std::ldexp(255.0, 120)) == 0x7F7F);  // largest finite
  CHECK(half_bits(DType::BF16, std::ldexp(511.0, 119)) == 0x7F80);  // its tie rounds to inf
  CHECK(half_bits(DType::BF16, 1e300) == 0x7F80);
  CHECK(half_bits(DType::BF16, -std::numeric_limits<double>::quiet_NaN()) == 0xFFC0);
  CHECK(half_value(DType::BF16, 0x7F7F) == std::ldexp(255.0, 120));
  CHECK(half_value(DType::BF16, 0x8001) == -std::ldexp(1.0, -133));
  CHECK(half_value(DType::BF16, 0x7F80) == std::numeric_limits<double>::infinity());
  CHECK(std::isnan(half_value(DType::BF16, 0x7FC1)));
  check_all_patterns_round_trip(DType::BF16, 0x7FC0);

  // BF16 of a float is the float's upper half rounded to nearest even: the usual bit trick as
  // a second opinion on random floats.
  std::mt19937 rng(5);
  for (int i = 0; i < 20000; ++i) {
    std::uint32_t f = rng();
    float x;
    std::memcpy(&x, &f, 4);
    if (std::isnan(x)) continue;
    const auto expected = static_cast<std::uint16_t>((f + 0x7FFF + ((f >> 16) & 1)) >> 16);
    if (half_bits(DType::BF16, x) != expected) {
      CAPTURE(f);
      CHECK(half_bits(DType::BF16, x) == expected);
    }
  }
}

TEST_CASE("safetensors: F16 and BF16 tensors survive a file round trip") {
  SafeTensors st;
  const std::vector<double> v = {0.5, -1.75, 0.0, 1024.0, std::ldexp(1.0, -24), 3.0};
  st.tensors.emplace("h", Tensor::from_doubles(DType::F16, {2, 3}, v));
  st.tensors.emplace("b", Tensor::from_doubles(DType::BF16, {3, 2}, v));
  const Bytes file = serialize_safetensors(st);
  const SafeTensors back = parse_safetensors(file);
  CHECK(back.tensor("h").dtype == DType::F16);
  CHECK(back.tensor("b").dtype == DType::BF16);
  CHECK(back.tensor("h").data.size() == 12);
  const auto h = back.tensor("h").to_doubles();
  const auto b = back.tensor("b").to_doubles();
  for (std::size_t i = 0; i < v.size(); ++i) {
    CHECK(h[i] == v[i]);
    CHECK(b[i] == v[i]);
  }
  CHECK(serialize_safetensors(back) == file);
  CHECK_THROWS_WITH_AS(back.tensor("h").to_int64s(), doctest::Contains("read as integers"), Error);
}
