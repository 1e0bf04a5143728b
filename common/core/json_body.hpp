#pragma once
// Reading JSON request and response bodies strictly: a body that is not a JSON object, a
// duplicated key, a missing or mistyped field, or an unknown field is Error(invalid_argument)
// naming the field.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ppi {

// Any JSON document, with duplicated keys (at any depth) refused: Error(invalid_argument).
nlohmann::json parse_json_strict(std::string_view text);

class JsonBody {
 public:
  // `allowed`: every field the object may hold.
  JsonBody(std::string_view text, std::vector<std::string> allowed);
  const nlohmann::json& raw() const { return doc_; }
  // A required field of any type (missing: invalid_argument naming it).
  const nlohmann::json& value(const std::string& field) const;
  std::string string(const std::string& field) const;
  std::vector<std::string> strings(const std::string& field) const;
  std::uint64_t uint(const std::string& field) const;

 private:
  const nlohmann::json& get(const std::string& field) const;
  nlohmann::json doc_;
};

}  // namespace ppi
