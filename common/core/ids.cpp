#include "core/ids.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace ppi {

bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_batch_id(std::string_view s) {
  if (!is_uuid(s)) {
    throw Error(Errc::invalid_argument, "batch_id must be a lower-case UUID");
  }
}

bool is_name_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (!alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

void check_name_id(std::string_view s, std::string_view field) {
  if (!is_name_id(s)) {
    throw Error(Errc::invalid_argument,
                std::string(field) + " must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
  }
}

std::vector<std::string> check_dealer_group(const std::vector<std::string>& dealers) {
  // The replicated generator (PROTOCOL.md section 4) needs n >= 3: with two dealers each would
  // hold every component of a secret.
  if (dealers.size() < kMinGroupDealers || dealers.size() > kMaxGroupDealers) {
    throw Error(Errc::invalid_argument, "dealers: a dealer group has " +
                                            std::to_string(kMinGroupDealers) + " to " +
                                            std::to_string(kMaxGroupDealers) + " dealers, got " +
                                            std::to_string(dealers.size()));
  }
  for (const auto& d : dealers) check_name_id(d, "dealer id");
  std::vector<std::string> sorted = dealers;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw Error(Errc::invalid_argument, "dealers: a dealer is listed twice");
  }
  return sorted;
}

std::string group_key(const std::vector<std::string>& sorted_dealers) {
  std::string key;
  for (const auto& d : sorted_dealers) key += (key.empty() ? "" : ",") + d;
  return key;
}

std::vector<std::string> group_members(std::string_view key) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= key.size();) {
    const std::size_t comma = std::min(key.find(',', start), key.size());
    if (comma > start) out.emplace_back(key.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace ppi
