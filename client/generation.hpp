#pragma once
// A private GPT-2 text generation on a converted batch, shared by `client generate` and the
// `client serve` gateway: the prompt's ids go to run_online, and the new tokens come back as
// text as they are learnt.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "client/online.hpp"
#include "text/gpt2_tokenizer.hpp"

namespace ppi::client {

struct TextGeneration {
  std::vector<std::uint32_t> tokens;  // the new tokens, end-of-text included when it came
  std::string text;                   // the new tokens decoded, end-of-text left out
  bool stopped = false;               // ended at end-of-text, before max_tokens
  OnlineResult result;
};

struct TextCallbacks {
  // Text as it comes: whole UTF-8 characters only, so a piece may hold several tokens'.
  std::function<void(std::string_view piece)> on_text;
  // Each token, after on_text has had its text.
  std::function<void(const GeneratedToken&)> on_token;
  std::function<void(std::string_view)> progress;  // run_online's steps
};

// Runs the generation of up to `max_tokens` tokens after `prompt` (token ids from `tokenizer`),
// stopping at end-of-text; greedy at temperature 0, else sampled (GenerateInput::temperature).
// Errors as run_online's.
TextGeneration generate_text(ClientStore& store, const OnlineSettings& settings,
                             const std::string& batch_id, const text::Gpt2Tokenizer& tokenizer,
                             std::vector<std::uint32_t> prompt, std::uint32_t max_tokens,
                             double temperature, const TextCallbacks& callbacks);

}  // namespace ppi::client
