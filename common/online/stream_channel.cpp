#include "online/stream_channel.hpp"

#include <cstring>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ppi::online {

void StreamChannel::post(std::span<const u64> words) {
  if (words.size() > kMaxWords) {
    throw Error(Errc::too_large, "a message of " + std::to_string(words.size()) +
                                     " words exceeds the online session's bound");
  }
  v1::OnlineMessage message;
  std::string* data = message.mutable_words()->mutable_data();
  data->resize(8 * words.size());
  static_assert(std::endian::native == std::endian::little);
  if (!words.empty()) std::memcpy(data->data(), words.data(), data->size());
  const bool sent = write_(message);
  cleanse(data->data(), data->size());
  if (!sent) throw Error(Errc::unavailable, peer_ + " closed the online session");
}

std::vector<u64> StreamChannel::next_message(std::size_t expected) {
  v1::OnlineMessage message;
  if (!read_(message)) throw Error(Errc::unavailable, peer_ + " closed the online session");
  if (!message.has_words()) {
    throw Error(Errc::invalid_argument,
                peer_ + " sent a control message in the middle of the 2PC program");
  }
  std::string& data = *message.mutable_words()->mutable_data();
  if (data.size() % 8 != 0 || data.size() / 8 != expected) {
    throw Error(Errc::invalid_argument, peer_ + " sent " + std::to_string(data.size()) +
                                            " bytes where " + std::to_string(expected) +
                                            " ring elements were expected");
  }
  std::vector<u64> words(expected);
  if (expected != 0) std::memcpy(words.data(), data.data(), data.size());
  cleanse(data.data(), data.size());
  return words;
}

}  // namespace ppi::online
