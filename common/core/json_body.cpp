#include "core/json_body.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace ppi {

JsonBody::JsonBody(std::string_view text, std::vector<std::string> allowed) {
  doc_ = nlohmann::json::parse(text, nullptr, false);
  if (doc_.is_discarded() || !doc_.is_object()) {
    throw Error(Errc::invalid_argument, "body must be a JSON object");
  }
  for (const auto& [key, value] : doc_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw Error(Errc::invalid_argument, "unknown field '" + key + "'");
    }
  }
}

const nlohmann::json& JsonBody::get(const std::string& field) const {
  auto it = doc_.find(field);
  if (it == doc_.end()) throw Error(Errc::invalid_argument, "missing field '" + field + "'");
  return *it;
}

std::string JsonBody::string(const std::string& field) const {
  const auto& v = get(field);
  if (!v.is_string()) throw Error(Errc::invalid_argument, "'" + field + "' must be a string");
  return v.get<std::string>();
}

std::vector<std::string> JsonBody::strings(const std::string& field) const {
  const auto& v = get(field);
  if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); })) {
    throw Error(Errc::invalid_argument, "'" + field + "' must be an array of strings");
  }
  return v.get<std::vector<std::string>>();
}

std::uint64_t JsonBody::uint(const std::string& field) const {
  const auto& v = get(field);
  if (!v.is_number_unsigned()) {
    throw Error(Errc::invalid_argument, "'" + field + "' must be a non-negative integer");
  }
  return v.get<std::uint64_t>();
}

}  // namespace ppi
