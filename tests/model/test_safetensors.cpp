#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
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
  expect_rejected(huge, "above the bound");
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
  expect_rejected("{" + entry("t", "F16", "[2]", "[0,4]") + "}", 4, "unsupported dtype \"F16\"");
  expect_rejected("{" + entry("t", "BF16", "[2]", "[0,4]") + "}", 4, "unsupported dtype");
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
