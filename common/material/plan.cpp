#include "material/plan.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace ppi::material {

namespace {
[[noreturn]] void bad_plan(const std::string& why) {
  throw Error(Errc::invalid_argument, "bad material plan: " + why);
}
}  // namespace

MaterialPlan::MaterialPlan(std::vector<PlanItem> items) : items_(std::move(items)) {
  if (items_.empty()) bad_plan("no items");
  offsets_.reserve(items_.size() + 1);
  offsets_.push_back(0);
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const PlanItem& it = items_[i];
    if (it.count == 0) bad_plan("item " + std::to_string(i) + " has count 0");
    // Checked before multiplying, so neither the product nor the sum can wrap.
    const std::uint64_t per = elements_per_item(it.type);
    const std::uint64_t room = kMaxPlanElements - offsets_.back();
    if (it.count > room / per) bad_plan("more than 2^32 elements in all");
    offsets_.push_back(offsets_.back() + it.count * per);
  }
}

MaterialPlan MaterialPlan::from_json(const nlohmann::json& j) {
  if (!j.is_array()) bad_plan("expected a JSON array of {\"type\", \"count\"} objects");
  std::vector<PlanItem> items;
  items.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& o = j[i];
    const std::string where = "item " + std::to_string(i);
    if (!o.is_object()) bad_plan(where + " is not an object");
    for (const auto& [key, value] : o.items()) {
      if (key != "type" && key != "count")
        bad_plan(where + " has an unknown field \"" + key + "\"");
    }
    if (!o.contains("type") || !o["type"].is_string()) {
      bad_plan(where + " needs \"type\", a string");
    }
    const nlohmann::json& c = o.contains("count") ? o["count"] : nlohmann::json();
    // is_number_integer() is false for 1.0 and for booleans; a negative count is a signed
    // integer, and unsigned zero is caught by the constructor.
    if (!c.is_number_integer() || (!c.is_number_unsigned() && c.get<std::int64_t>() <= 0)) {
      bad_plan(where + " needs \"count\", an integer >= 1");
    }
    items.push_back({parse_material_type(o["type"].get<std::string>()), c.get<std::uint64_t>()});
  }
  return MaterialPlan(std::move(items));
}

MaterialPlan MaterialPlan::parse(std::string_view json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) bad_plan("not valid JSON");
  return from_json(j);
}

std::uint64_t MaterialPlan::offset_of(std::size_t index) const {
  if (index >= offsets_.size()) {
    throw Error(Errc::invalid_argument, "plan item index " + std::to_string(index) +
                                            " out of range (" + std::to_string(items_.size()) +
                                            " items)");
  }
  return offsets_[index];
}

nlohmann::json MaterialPlan::to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (const PlanItem& it : items_)
    j.push_back({{"type", to_string(it.type)}, {"count", it.count}});
  return j;
}

std::string MaterialPlan::canonical() const {
  return to_json().dump();  // nlohmann::json objects keep their keys sorted
}

}  // namespace ppi::material
