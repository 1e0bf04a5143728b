#pragma once
// The model owner's database: its models (with their material plans) and, per inference, the
// 2PC share collected from the dealers (MAC key share in the row, pairs in chunks). A model with
// a mask plan also has, per dealer group, one mask set: its weight masks B, collected once and
// kept across inferences (PROTOCOL.md section 5).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/chunks.hpp"
#include "db/database.hpp"
#include "inference/gpt2_program.hpp"
#include "ring/z2k.hpp"

namespace ppi::model_owner {

struct StoredShare {
  u128 mac_key_share = 0;
  std::uint64_t element_count = 0;
};

// Which private program a model runs; stored as its name.
enum class ModelKind { mlp, gpt2 };
const char* kind_name(ModelKind kind);

// What the online phase needs of a model besides its plan. An MLP uses input_rows, a GPT-2
// config_json (its config.json), bucket and top_k; reveal_logits is for both.
struct ModelSettings {
  ModelKind kind = ModelKind::mlp;
  std::string config_json;
  std::uint32_t input_rows = 0;
  std::uint32_t bucket = 0;
  std::uint32_t top_k = 0;
  std::uint32_t max_new_tokens = 1;  // gpt2: the pass's token, then max_new_tokens - 1 steps
  bool reveal_logits = false;
};

// A GPT-2's options as a pass takes them: the last position's next tokens.
inference::Gpt2PassOptions gpt2_pass_options(const ModelSettings& s);

// What a client may know of a model before asking for a batch of it: enough to check an
// input against it without using a batch up.
struct ModelSummary {
  std::string model_id;
  ModelKind kind = ModelKind::mlp;
  std::uint32_t input_rows = 0;      // mlp
  std::uint32_t bucket = 0;          // gpt2: the most prompt tokens
  std::uint32_t max_new_tokens = 0;  // gpt2: the most new tokens of a generation
};

struct OnlineModel {
  std::string plan_json;
  std::string mask_plan_json;  // canonical; empty when the model has no mask plan
  Bytes weights;               // the safetensors file
  ModelSettings settings;
};

struct OnlineBatch {
  std::string model_id;
  std::string group_id;  // the dealers' sorted ids joined by ',' (core/ids.hpp group_key)
  StoredShare share;
  Bytes elements;  // the model owner's 2PC share, 32 bytes per element
};

inline constexpr db::ChunkTable kMaskSetChunks{"mask_set_chunks", "mask_set_id"};

struct MaskSetShare {
  std::string mask_set_id;
  std::string plan_json;  // the mask plan, canonical
  u128 mac_key_share = 0;
  Bytes elements;  // 32 bytes per element, as OnlineBatch::elements
};

class ModelOwnerStore {
 public:
  // A ready share unused for ttl_seconds expires (batch.ttl_seconds, as on the dealers).
  explicit ModelOwnerStore(std::shared_ptr<db::Database> db, std::int64_t ttl_seconds = 3600)
      : db_(std::move(db)), ttl_seconds_(ttl_seconds) {}
  db::Database& database() { return *db_; }

  // A model and its plan, and its mask plan (canonical JSON, empty for none); with `weights` (a
  // safetensors file) and its settings it can also run the online phase. Registering it again
  // with another plan or mask plan is Error(conflict); with other settings or weights it is
  // Error(conflict) naming what differs unless `replace`, and then the change is recorded
  // (table model_changes); registering it as it is changes nothing.
  void save_model(const std::string& model_id, const std::string& plan_json, ByteView weights = {},
                  const ModelSettings& settings = {}, const std::string& mask_plan_json = "",
                  bool replace = false);
  std::optional<std::string> model_plan(const std::string& model_id);
  // The model's mask plan (canonical JSON); empty when it has none or is unknown.
  std::string model_mask_plan(const std::string& model_id);

  // The model owner's held mask set of (model, group); nullopt when it has none.
  std::optional<MaskSetShare> mask_set(const std::string& model_id, const std::string& group_id);
  // Whether it holds that mask set, without reading it.
  bool holds_mask_set(const std::string& model_id, const std::string& group_id);
  // The model's weights and online settings; Error(not_found) for an unknown model or one
  // registered without weights.
  OnlineModel online_model(const std::string& model_id);
  // Every model that can run inferences (registered with weights), by id.
  std::vector<ModelSummary> runnable_models();

  // Starts the online phase of a ready inference for its bound client, once: the state moves
  // to 'online' in one transaction. Error(not_found) for an unknown batch,
  // permission_denied for another client, gone for one expired (now or before), conflict for a
  // batch used, failed or not ready.
  OnlineBatch begin_online(const std::string& batch_id, const std::string& caller);
  // The online phase ended: its figures are recorded and the share is deleted (it is one-time
  // material either way).
  void finish_online(const std::string& batch_id, std::uint64_t rounds, std::uint64_t bytes_sent,
                     std::uint64_t bytes_received);
  void fail_online(const std::string& batch_id, const std::string& reason);

  // The inference row, before any share arrives (state "collecting").
  void begin_inference(const std::string& batch_id, const std::string& model_id,
                       const std::string& client, const std::string& dealers);
  // The share of a collecting inference is summed and stored (in `s`'s transaction, which also
  // wrote its chunks): it becomes ready, recorded as converted.
  void mark_converted(db::Session& s, const std::string& batch_id, std::uint64_t element_count,
                      ByteView mac_key_share, std::uint64_t bytes_received);
  void mark_failed(const std::string& batch_id, const std::string& reason);
  // Start-up reconciliation (docs/protocol.md, Reconciliation): every inference a previous run
  // left 'collecting' or 'online' is failed and what it holds of its share is deleted. Its
  // client's request died with that run, so it never learns the batch id: finishing the
  // collection would only keep one-time material nobody can use. Returns how many.
  std::int64_t fail_unfinished();
  // Expires every ready inference whose share has waited batch.ttl_seconds unused: state
  // 'expired', its share deleted, its row and events kept. Returns how many.
  std::int64_t expire_due();
  // The share of a ready inference; Error(not_found) otherwise.
  StoredShare share(const std::string& batch_id);

 private:
  // Moves a ready inference to 'expired' and deletes its share, in s's transaction.
  void expire(db::Session& s, const std::string& batch_id);
  // Deletes the inference's share chunks, recorded as material_deleted when there were any.
  static void delete_share(db::Session& s, const std::string& batch_id);

  std::shared_ptr<db::Database> db_;
  std::int64_t ttl_seconds_;
};

}  // namespace ppi::model_owner
