#pragma once
// Reading JSON request and response bodies strictly: a body that is not a JSON object, a
// missing or mistyped field, or an unknown field is Error(invalid_argument) naming the field.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ppi {

class JsonBody {
 public:
  // `allowed`: every field the object may hold.
  JsonBody(std::string_view text, std::vector<std::string> allowed);
  const nlohmann::json& raw() const { return doc_; }
  std::string string(const std::string& field) const;
  std::vector<std::string> strings(const std::string& field) const;
  std::uint64_t uint(const std::string& field) const;

 private:
  const nlohmann::json& get(const std::string& field) const;
  nlohmann::json doc_;
};

}  // namespace ppi
