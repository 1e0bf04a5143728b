#include "online/stream_channel.hpp"

#include <algorithm>
#include <cstring>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ppi::online {

void StreamChannel::post(std::span<const u64> words) {
  static_assert(std::endian::native == std::endian::little);
  // An empty message is one empty chunk, so that every message is at least one.
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(kMaxWords, words.size() - at);
    v1::OnlineMessage message;
    std::string* data = message.mutable_words()->mutable_data();
    data->resize(8 * n);
    if (n != 0) std::memcpy(data->data(), words.data() + at, data->size());
    const bool sent = write_(message);
    cleanse(data->data(), data->size());
    if (!sent) throw Error(Errc::unavailable, peer_ + " closed the online session");
    at += n;
  } while (at < words.size());
}

std::vector<u64> StreamChannel::next_message(std::size_t expected) {
  std::vector<u64> words(expected);
  std::size_t at = 0;
  do {
    v1::OnlineMessage message;
    if (!read_(message)) throw Error(Errc::unavailable, peer_ + " closed the online session");
    if (!message.has_words()) {
      throw Error(Errc::invalid_argument,
                  peer_ + " sent a control message in the middle of the 2PC program");
    }
    std::string& data = *message.mutable_words()->mutable_data();
    const std::size_t chunk = std::min(kMaxWords, expected - at);
    if (data.size() % 8 != 0 || data.size() / 8 != chunk) {
      cleanse(data.data(), data.size());
      throw Error(Errc::invalid_argument, peer_ + " sent " + std::to_string(data.size()) +
                                              " bytes where " + std::to_string(chunk) +
                                              " ring elements were expected (" +
                                              std::to_string(expected) + " in the message)");
    }
    if (chunk != 0) std::memcpy(words.data() + at, data.data(), data.size());
    cleanse(data.data(), data.size());
    at += chunk;
  } while (at < expected);
  return words;
}

}  // namespace ppi::online
