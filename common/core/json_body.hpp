#pragma once
// Reading JSON request and response bodies strictly: a body that is not a JSON object, a
// duplicated key, a missing or mistyped field, or an unknown field is Error(invalid_argument)
// naming the field.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ppi {

// Any JSON document, with duplicated keys (at any depth) refused: Error(invalid_argument).
nlohmann::json parse_json_strict(std::string_view text);

// A field of a typed body (super_dealer/api.hpp, dealer/api.hpp): its name and whether it
// must be present. tests/unit/test_openapi_contract.cpp compares them with the schemas.
struct JsonField {
  std::string name;
  bool required = true;
};
using JsonFields = std::vector<JsonField>;

class JsonBody {
 public:
  // `allowed`: every field the object may hold.
  JsonBody(std::string_view text, std::vector<std::string> allowed);
  // A parsed document (a typed body's from_json): an object holding only `fields`, each
  // required one present; else Error(invalid_argument) naming the field.
  static JsonBody typed(const nlohmann::json& doc, const JsonFields& fields);
  const nlohmann::json& raw() const { return doc_; }
  // A required field of any type (missing: invalid_argument naming it).
  const nlohmann::json& value(const std::string& field) const;
  std::string string(const std::string& field) const;
  std::vector<std::string> strings(const std::string& field) const;
  std::uint64_t uint(const std::string& field) const;
  // A string field that may be absent.
  std::optional<std::string> optional_string(const std::string& field) const;
  // A required array field (a plan: its items are checked by whoever reads them).
  const nlohmann::json& array(const std::string& field) const;
  // An array field that may be absent (present, it must be an array; null is refused).
  std::optional<nlohmann::json> optional_array(const std::string& field) const;
  // A required array of typed objects, each read by T's from_json (which names what does not
  // fit in it).
  template <class T>
  std::vector<T> objects(const std::string& field) const {
    return array(field).template get<std::vector<T>>();
  }

 private:
  const nlohmann::json& get(const std::string& field) const;
  JsonBody() = default;
  void check_fields(const std::vector<std::string>& allowed) const;
  nlohmann::json doc_;
};

// A request body of type T (its from_json reads it with JsonBody): not JSON, a duplicated key,
// or a field that does not fit is Error(invalid_argument), which the router answers with 400.
template <class T>
T parse_body(std::string_view text) {
  return parse_json_strict(text).get<T>();
}

}  // namespace ppi
