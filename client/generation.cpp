#include "client/generation.hpp"

namespace ppi::client {
namespace {

// How much of `text` ends in whole UTF-8 characters: a token may end inside one.
std::size_t whole_characters(const std::string& text) {
  for (std::size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    const auto c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xC0) == 0xC0) {
      const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return back < need ? text.size() - back : text.size();
    }
    if ((c & 0x80) == 0) break;
  }
  return text.size();
}

}  // namespace

TextGeneration generate_text(ClientStore& store, const OnlineSettings& settings,
                             const std::string& batch_id, const text::Gpt2Tokenizer& tokenizer,
                             std::vector<std::uint32_t> prompt, std::uint32_t max_tokens,
                             double temperature, const TextCallbacks& callbacks) {
  TextGeneration out;
  const std::uint32_t stop = tokenizer.end_of_text();
  std::size_t given = 0;  // bytes of out.text already passed to on_text
  GenerateInput input;
  input.prompt = std::move(prompt);
  input.max_tokens = max_tokens;
  input.stop = stop;
  input.temperature = temperature;
  input.on_token = [&](const GeneratedToken& t) {
    out.tokens.push_back(t.token);
    if (t.token == stop) {
      out.stopped = true;
    } else {
      out.text = tokenizer.decode(out.tokens);
      const std::size_t whole = whole_characters(out.text);
      if (whole > given && callbacks.on_text) {
        callbacks.on_text(std::string_view(out.text).substr(given, whole - given));
      }
      given = std::max(given, whole);
    }
    if (callbacks.on_token) callbacks.on_token(t);
  };
  out.result = run_online(
      store, settings, batch_id, input,
      callbacks.progress ? callbacks.progress : [](std::string_view) {});
  if (out.text.size() > given && callbacks.on_text) {
    callbacks.on_text(std::string_view(out.text).substr(given));
  }
  return out;
}

}  // namespace ppi::client
