#include "core/json_body.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace ppi {

nlohmann::json parse_json_strict(std::string_view text) {
  // nlohmann keeps the last of duplicated keys; a body that says two things is refused
  // instead. One set of keys per object being parsed.
  std::vector<std::vector<std::string>> open;
  std::string duplicate;
  const nlohmann::json::parser_callback_t check = [&](int, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) open.emplace_back();
    if (event == E::object_end && !open.empty()) open.pop_back();
    if (event == E::key && !open.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      auto& keys = open.back();
      if (std::find(keys.begin(), keys.end(), key) != keys.end() && duplicate.empty()) {
        duplicate = key;
      }
      keys.push_back(key);
    }
    return true;
  };
  nlohmann::json doc = nlohmann::json::parse(text, check, false);
  if (doc.is_discarded()) throw Error(Errc::invalid_argument, "body is not valid JSON");
  if (!duplicate.empty()) {
    throw Error(Errc::invalid_argument, "body holds the key '" + duplicate + "' twice");
  }
  return doc;
}

JsonBody::JsonBody(std::string_view text, std::vector<std::string> allowed) {
  doc_ = parse_json_strict(text);
  check_fields(allowed);
}

JsonBody JsonBody::typed(const nlohmann::json& doc, const JsonFields& fields) {
  JsonBody body;
  body.doc_ = doc;
  std::vector<std::string> allowed;
  for (const auto& f : fields) allowed.push_back(f.name);
  body.check_fields(allowed);
  for (const auto& f : fields) {
    if (f.required) body.get(f.name);
  }
  return body;
}

void JsonBody::check_fields(const std::vector<std::string>& allowed) const {
  if (!doc_.is_object()) throw Error(Errc::invalid_argument, "body must be a JSON object");
  for (const auto& [key, value] : doc_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw Error(Errc::invalid_argument, "unknown field '" + key + "'");
    }
  }
}

std::optional<std::string> JsonBody::optional_string(const std::string& field) const {
  if (!doc_.contains(field)) return std::nullopt;
  return string(field);
}

const nlohmann::json& JsonBody::array(const std::string& field) const {
  const auto& v = get(field);
  if (!v.is_array()) throw Error(Errc::invalid_argument, "'" + field + "' must be an array");
  return v;
}

std::optional<nlohmann::json> JsonBody::optional_array(const std::string& field) const {
  if (!doc_.contains(field)) return std::nullopt;
  return array(field);
}

const nlohmann::json& JsonBody::value(const std::string& field) const {
  return get(field);
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
