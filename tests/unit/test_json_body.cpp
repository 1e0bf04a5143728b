// Strict request bodies (core/json_body.hpp): duplicated keys refused at any depth, missing and
// unknown fields named.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "core/json_body.hpp"

using namespace ppi;

TEST_CASE("request bodies: a duplicated key is refused (the last no longer wins silently)") {
  CHECK_THROWS_WITH_AS(JsonBody(R"({"model_id": "a", "model_id": "b"})", {"model_id"}),
                       "body holds the key 'model_id' twice", Error);
  CHECK_THROWS_WITH_AS(parse_json_strict(R"({"plan": [{"type": "TRIPLE", "type": "DABIT"}]})"),
                       "body holds the key 'type' twice", Error);
  // The same key in two different objects is not a duplicate.
  CHECK(parse_json_strict(R"([{"count": 1}, {"count": 2}])").size() == 2);
  CHECK(parse_json_strict(R"({"a": {"a": 1}})").at("a").at("a") == 1);
  CHECK_THROWS_WITH_AS(JsonBody("{\"a\": ", {"a"}), "body is not valid JSON", Error);
  CHECK_THROWS_WITH_AS(JsonBody("[1]", {"a"}), "body must be a JSON object", Error);
  const JsonBody body(R"({"model_id": "m"})", {"model_id", "plan"});
  CHECK_THROWS_WITH_AS(body.value("plan"), "missing field 'plan'", Error);
  CHECK(body.value("model_id") == "m");
}
