#include "model/safetensors.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "ring/z2k.hpp"

namespace ppi::model {
namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& what) {
  throw Error(Errc::invalid_argument, "safetensors: " + what);
}

constexpr std::string_view kMetadataKey = "__metadata__";

// Dtypes of the format that this project does not use: named so that the error says
// "unsupported" rather than "unknown" for a file that is valid elsewhere.
constexpr std::array<std::string_view, 14> kOtherFormatDtypes = {
    "BOOL", "U8",      "I8",      "U16",     "I16", "U32",     "U64",
    "C64",  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2"};

// The two 16-bit float dtypes as (exponent bits, stored mantissa bits).
struct HalfFormat {
  int exponent_bits;
  int mantissa_bits;
};
constexpr HalfFormat kF16{5, 10};
constexpr HalfFormat kBF16{8, 7};

double half_to_double(std::uint16_t bits, HalfFormat fmt) {
  const int m_bits = fmt.mantissa_bits;
  const int bias = (1 << (fmt.exponent_bits - 1)) - 1;
  const int exp_max = (1 << fmt.exponent_bits) - 1;
  const bool negative = (bits >> (fmt.exponent_bits + m_bits)) & 1;
  const int e = (bits >> m_bits) & exp_max;
  const std::uint32_t m = bits & ((1u << m_bits) - 1);
  double v;
  if (e == exp_max) {
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(m), 1 - bias - m_bits);  // subnormal (or zero)
  } else {
    v = std::ldexp(static_cast<double>(m | (1u << m_bits)), e - bias - m_bits);
  }
  return negative ? -v : v;
}

// x >= 0 rounded to an integer, ties to even; exact because a double's fraction part is.
double round_half_even(double x) {
  const double floor = std::floor(x);
  const double frac = x - floor;
  if (frac > 0.5 || (frac == 0.5 && std::fmod(floor, 2.0) != 0.0)) return floor + 1.0;
  return floor;
}

std::uint16_t double_to_half(double v, HalfFormat fmt) {
  const int m_bits = fmt.mantissa_bits;
  const int bias = (1 << (fmt.exponent_bits - 1)) - 1;
  const std::uint32_t exp_max = (1u << fmt.exponent_bits) - 1;
  const std::uint32_t sign = std::signbit(v) ? 1u << (fmt.exponent_bits + m_bits) : 0u;
  const std::uint32_t inf = exp_max << m_bits;
  if (std::isnan(v)) return static_cast<std::uint16_t>(sign | inf | (1u << (m_bits - 1)));
  const double a = std::fabs(v);
  std::uint32_t magnitude;
  if (a < std::ldexp(1.0, 1 - bias)) {
    // Subnormal: units of 2^(1 - bias - m_bits). Rounding up to 2^m_bits units gives the
    // smallest normal's encoding, so no special case.
    magnitude = static_cast<std::uint32_t>(round_half_even(std::ldexp(a, bias - 1 + m_bits)));
  } else if (std::isinf(a)) {
    magnitude = inf;
  } else {
    int exponent;
    const double fraction = std::frexp(a, &exponent);  // a = fraction 2^exponent, [0.5, 1)
    const auto significand =
        static_cast<std::uint32_t>(round_half_even(std::ldexp(fraction, m_bits + 1)));
    // A significand rounded up to 2^(m_bits + 1) carries into the exponent by this addition.
    const std::uint64_t biased = static_cast<std::uint64_t>(exponent - 1 + bias);
    const std::uint64_t encoded = (biased << m_bits) + (significand - (1u << m_bits));
    magnitude = encoded >= inf ? inf : static_cast<std::uint32_t>(encoded);
  }
  return static_cast<std::uint16_t>(sign | magnitude);
}

// nlohmann keeps the last of two equal keys; the format forbids them, so the parser callback
// records the first duplicate at any depth.
struct DuplicateKeyFinder {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool found = false;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && !found) {
          found = true;
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  }
};

json parse_header_json(std::string_view text) {
  DuplicateKeyFinder finder;
  json header;
  try {
    header = json::parse(text.begin(), text.end(), std::ref(finder));
  } catch (const json::exception& e) {
    malformed(std::string("header is not valid JSON: ") + e.what());
  }
  if (finder.found) malformed("duplicate key \"" + finder.duplicate + "\" in header");
  if (!header.is_object()) malformed("header is not a JSON object");
  return header;
}

// A JSON number that is a non-negative integer, as the format's sizes and offsets must be.
std::uint64_t non_negative_integer(const json& v, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) malformed(what + " is negative");
  malformed(what + " is not an integer");
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) malformed(what + " overflows");
  return a * b;
}

std::vector<std::uint64_t> parse_shape(const json& v, const std::string& name) {
  if (!v.is_array()) malformed("tensor \"" + name + "\": shape is not an array");
  if (v.size() > kMaxRank) {
    malformed("tensor \"" + name + "\": rank " + std::to_string(v.size()) + " above " +
              std::to_string(kMaxRank));
  }
  std::vector<std::uint64_t> shape;
  for (std::size_t i = 0; i < v.size(); ++i) {
    shape.push_back(
        non_negative_integer(v[i], "tensor \"" + name + "\": dimension " + std::to_string(i)));
  }
  return shape;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin;
  std::uint64_t end;
};

Entry parse_entry(const std::string& name, const json& v, std::uint64_t buffer_size) {
  const std::string where = "tensor \"" + name + "\"";
  if (name.empty()) malformed("a tensor has an empty name");
  if (!v.is_object()) malformed(where + " is not an object");
  for (const auto& [key, value] : v.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      malformed(where + ": unexpected field \"" + key + "\"");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) malformed(where + ": missing field \"" + key + "\"");
  }
  if (!v["dtype"].is_string()) malformed(where + ": dtype is not a string");
  Entry e{name, DType::F32, {}, 0, 0};
  try {
    e.dtype = parse_dtype(v["dtype"].get<std::string>());
  } catch (const Error& err) {
    malformed(where + ": " + err.what());
  }
  e.shape = parse_shape(v["shape"], name);

  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    malformed(where + ": data_offsets is not an array [begin, end]");
  }
  e.begin = non_negative_integer(offsets[0], where + ": data_offsets begin");
  e.end = non_negative_integer(offsets[1], where + ": data_offsets end");
  if (e.begin > e.end) {
    malformed(where + ": data_offsets reversed (begin " + std::to_string(e.begin) + " > end " +
              std::to_string(e.end) + ")");
  }
  if (e.end > buffer_size) {
    malformed(where + ": data_offsets end " + std::to_string(e.end) + " beyond the buffer of " +
              std::to_string(buffer_size) + " bytes");
  }
  std::uint64_t bytes = dtype_size(e.dtype);
  for (std::uint64_t d : e.shape) bytes = checked_mul(bytes, d, where + ": size of shape");
  if (bytes != e.end - e.begin) {
    malformed(where + ": shape and dtype need " + std::to_string(bytes) +
              " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& v) {
  if (!v.is_object()) malformed("__metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) malformed("__metadata__ \"" + key + "\" is not a string");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// The format requires the tensors to tile the buffer: no hole, no overlap, nothing after.
void check_coverage(std::vector<Entry>& entries, std::uint64_t buffer_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  std::uint64_t expected = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < expected) {
      malformed("tensor \"" + e.name + "\" overlaps tensor \"" + previous->name + "\" (begins at " +
                std::to_string(e.begin) + ", before " + std::to_string(expected) + ")");
    }
    if (e.begin > expected) {
      malformed("hole in the buffer: bytes [" + std::to_string(expected) + ", " +
                std::to_string(e.begin) + ") before tensor \"" + e.name + "\" belong to no tensor");
    }
    expected = e.end;
    previous = &e;
  }
  if (expected != buffer_size) {
    malformed("buffer has " + std::to_string(buffer_size - expected) +
              " trailing bytes that belong to no tensor");
  }
}

double checked_int64_to_double(std::int64_t v) {
  constexpr std::int64_t kExact = std::int64_t{1} << 53;
  if (v > kExact || v < -kExact) {
    throw Error(Errc::invalid_argument, "I64 tensor element " + std::to_string(v) +
                                            " is not exactly representable as a double");
  }
  return static_cast<double>(v);
}

template <class T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the host is little-endian (ring/z2k.hpp checks it)
  return v;
}

template <class T>
void store_le(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

std::uint64_t shape_numel(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::uint64_t>::max() / d) {
      throw Error(Errc::invalid_argument, "safetensors: tensor shape overflows");
    }
    n *= d;
  }
  return n;
}

void check_count(const std::vector<std::uint64_t>& shape, std::size_t count) {
  if (shape_numel(shape) != count) {
    throw Error(Errc::invalid_argument, "safetensors: shape holds " +
                                            std::to_string(shape_numel(shape)) + " elements but " +
                                            std::to_string(count) + " values were given");
  }
}

}  // namespace

std::string_view dtype_name(DType d) noexcept {
  switch (d) {
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
  }
  return "?";
}

std::size_t dtype_size(DType d) noexcept {
  switch (d) {
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F64:
    case DType::I64:
      return 8;
  }
  return 8;
}

DType parse_dtype(std::string_view name) {
  for (DType d : {DType::F16, DType::BF16, DType::F32, DType::F64, DType::I32, DType::I64}) {
    if (name == dtype_name(d)) return d;
  }
  if (std::find(kOtherFormatDtypes.begin(), kOtherFormatDtypes.end(), name) !=
      kOtherFormatDtypes.end()) {
    throw Error(Errc::invalid_argument, "unsupported dtype \"" + std::string(name) +
                                            "\" (F16, BF16, F32, F64, I32, I64 are)");
  }
  throw Error(Errc::invalid_argument, "unknown dtype \"" + std::string(name) + "\"");
}

std::uint64_t Tensor::numel() const {
  return shape_numel(shape);
}

SecretVector<double> Tensor::to_doubles() const {
  const std::size_t n = data.size() / dtype_size(dtype);
  SecretVector<double> out(n);
  const std::uint8_t* p = data.data();
  for (std::size_t i = 0; i < n; ++i, p += dtype_size(dtype)) {
    switch (dtype) {
      case DType::F16:
        out[i] = half_to_double(load_le<std::uint16_t>(p), kF16);
        break;
      case DType::BF16:
        out[i] = half_to_double(load_le<std::uint16_t>(p), kBF16);
        break;
      case DType::F32:
        out[i] = load_le<float>(p);
        break;
      case DType::F64:
        out[i] = load_le<double>(p);
        break;
      case DType::I32:
        out[i] = load_le<std::int32_t>(p);
        break;
      case DType::I64:
        out[i] = checked_int64_to_double(load_le<std::int64_t>(p));
        break;
    }
  }
  return out;
}

std::vector<std::int64_t> Tensor::to_int64s() const {
  if (dtype != DType::I32 && dtype != DType::I64) {
    throw Error(Errc::invalid_argument,
                "tensor of dtype " + std::string(dtype_name(dtype)) + " read as integers");
  }
  const std::size_t n = data.size() / dtype_size(dtype);
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = dtype == DType::I32 ? load_le<std::int32_t>(data.data() + 4 * i)
                                 : load_le<std::int64_t>(data.data() + 8 * i);
  }
  return out;
}

Tensor Tensor::from_doubles(DType dtype, std::vector<std::uint64_t> shape,
                            std::span<const double> values) {
  check_count(shape, values.size());
  Tensor t{dtype, std::move(shape), {}};
  t.data.resize(values.size() * dtype_size(dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint8_t* p = t.data.data() + i * dtype_size(dtype);
    const double v = values[i];
    if (dtype == DType::F16 || dtype == DType::BF16) {
      store_le(p, double_to_half(v, dtype == DType::F16 ? kF16 : kBF16));
    } else if (dtype == DType::F32) {
      store_le(p, static_cast<float>(v));
    } else if (dtype == DType::F64) {
      store_le(p, v);
    } else {
      const double lo = dtype == DType::I32 ? -2147483648.0 : -9223372036854775808.0;
      if (!(v == std::floor(v) && v >= lo && v < -lo)) {
        throw Error(Errc::invalid_argument, "safetensors: value " + std::to_string(v) +
                                                " is not an integer of dtype " +
                                                std::string(dtype_name(dtype)));
      }
      if (dtype == DType::I32) {
        store_le(p, static_cast<std::int32_t>(v));
      } else {
        store_le(p, static_cast<std::int64_t>(v));
      }
    }
  }
  return t;
}

Tensor Tensor::from_int64s(DType dtype, std::vector<std::uint64_t> shape,
                           std::span<const std::int64_t> values) {
  check_count(shape, values.size());
  if (dtype == DType::I64) {
    Tensor t{dtype, std::move(shape), {}};
    t.data.resize(values.size() * 8);
    for (std::size_t i = 0; i < values.size(); ++i) store_le(t.data.data() + 8 * i, values[i]);
    return t;
  }
  std::vector<double> as_doubles;
  for (std::int64_t v : values) as_doubles.push_back(checked_int64_to_double(v));
  return from_doubles(dtype, std::move(shape), as_doubles);
}

const Tensor& SafeTensors::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(Errc::not_found, "safetensors: no tensor \"" + name + "\"");
  return it->second;
}

const std::string& SafeTensors::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) {
    throw Error(Errc::not_found, "safetensors: no __metadata__ key \"" + key + "\"");
  }
  return it->second;
}

SafeTensors parse_safetensors(ByteView file) {
  if (file.size() < 8) {
    malformed("file of " + std::to_string(file.size()) +
              " bytes is shorter than the 8-byte header length");
  }
  const std::uint64_t header_len = load_u64_le(file.data());
  if (header_len > kMaxHeaderBytes) {
    // What a file of another format (JSON, text) gives: say so rather than only the number.
    malformed("not a safetensors file: its first 8 bytes give a header length of " +
              std::to_string(header_len) + ", above the bound of " +
              std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (header_len > file.size() - 8) {
    malformed("header length " + std::to_string(header_len) + " beyond the end of the file (" +
              std::to_string(file.size() - 8) + " bytes follow the length)");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(file.data() + 8), header_len);
  const ByteView buffer = file.subspan(8 + header_len);
  const json header = parse_header_json(header_text);

  SafeTensors st;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      st.metadata = parse_metadata(value);
    } else {
      entries.push_back(parse_entry(key, value, buffer.size()));
    }
  }
  check_coverage(entries, buffer.size());
  for (Entry& e : entries) {
    Tensor t{e.dtype, std::move(e.shape), {}};
    t.data.assign(buffer.begin() + static_cast<std::ptrdiff_t>(e.begin),
                  buffer.begin() + static_cast<std::ptrdiff_t>(e.end));
    st.tensors.emplace(std::move(e.name), std::move(t));
  }
  return st;
}

SafeTensors read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::not_found, "safetensors: cannot open " + path.string());
  // One read of the whole file where its size is known (a GPT-2 file is hundreds of MB; byte
  // by byte through a growing vector takes seconds), else byte by byte (a pipe).
  SecretVector<std::uint8_t> bytes;
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec) {
    bytes.resize(size);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (static_cast<std::uintmax_t>(in.gcount()) != size ||
        in.peek() != std::ifstream::traits_type::eof()) {
      throw Error(Errc::invalid_argument,
                  "safetensors: " + path.string() + " changed size while it was read");
    }
  } else {
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (in.bad()) throw Error(Errc::invalid_argument, "safetensors: cannot read " + path.string());
  try {
    return parse_safetensors(ByteView(bytes.data(), bytes.size()));
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

Bytes frame_safetensors(std::string_view header, ByteView buffer) {
  Bytes out(8 + header.size() + buffer.size());
  store_u64_le(out.data(), header.size());
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!buffer.empty()) std::memcpy(out.data() + 8 + header.size(), buffer.data(), buffer.size());
  return out;
}

Bytes serialize_safetensors(const SafeTensors& st) {
  json header = json::object();
  if (!st.metadata.empty()) header[kMetadataKey] = st.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : st.tensors) {
    if (name.empty() || name == kMetadataKey) {
      throw Error(Errc::invalid_argument, "safetensors: invalid tensor name \"" + name + "\"");
    }
    if (t.data.size() != t.numel() * dtype_size(t.dtype)) {
      throw Error(Errc::invalid_argument,
                  "safetensors: tensor \"" + name + "\" has data of the wrong size");
    }
    header[name] = {{"dtype", dtype_name(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  SecretVector<std::uint8_t> buffer;
  buffer.reserve(offset);
  for (const auto& [name, t] : st.tensors)
    buffer.insert(buffer.end(), t.data.begin(), t.data.end());
  return frame_safetensors(text, ByteView(buffer.data(), buffer.size()));
}

void write_safetensors(const std::filesystem::path& path, const SafeTensors& st) {
  Bytes bytes = serialize_safetensors(st);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  cleanse(bytes);
  if (!out) throw Error(Errc::invalid_argument, "safetensors: cannot write " + path.string());
}

}  // namespace ppi::model
