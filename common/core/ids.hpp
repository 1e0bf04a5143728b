#pragma once
// Identifiers that cross the network, validated at the edge: batch ids are lower-case UUIDs,
// model and dealer ids are short names. Each check throws Error(invalid_argument) naming the
// field.

#include <string>
#include <string_view>
#include <vector>

namespace ppi {

bool is_uuid(std::string_view s) noexcept;  // 8-4-4-4-12 lower-case hex
void check_batch_id(std::string_view s);
// [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
bool is_name_id(std::string_view s) noexcept;
void check_name_id(std::string_view s, std::string_view field);
// 3 to 10 distinct dealer ids; returns them sorted (the group's canonical order).
inline constexpr std::size_t kMinGroupDealers = 3;
inline constexpr std::size_t kMaxGroupDealers = 10;
std::vector<std::string> check_dealer_group(const std::vector<std::string>& dealers);
// The canonical text of a group: sorted ids joined by ','.
std::string group_key(const std::vector<std::string>& sorted_dealers);
// The dealers of a group key (group_key's inverse; empty ids dropped).
std::vector<std::string> group_members(std::string_view key);

}  // namespace ppi
