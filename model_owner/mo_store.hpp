#pragma once
// The model owner's database: its models (with their material plans) and, per inference, the
// 2PC share collected from the dealers (MAC key share in the row, pairs in chunks).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/database.hpp"
#include "ring/z2k.hpp"

namespace ppi::model_owner {

struct StoredShare {
  u128 mac_key_share = 0;
  std::uint64_t element_count = 0;
};

class ModelOwnerStore {
 public:
  explicit ModelOwnerStore(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}
  db::Database& database() { return *db_; }

  void save_model(const std::string& model_id, const std::string& plan_json);
  std::optional<std::string> model_plan(const std::string& model_id);

  // The inference row, before any share arrives (state "collecting").
  void begin_inference(const std::string& batch_id, const std::string& model_id,
                       const std::string& client, const std::string& dealers);
  void mark_failed(const std::string& batch_id);
  // The share of a ready inference; Error(not_found) otherwise.
  StoredShare share(const std::string& batch_id);

 private:
  std::shared_ptr<db::Database> db_;
};

}  // namespace ppi::model_owner
