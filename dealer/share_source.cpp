#include "dealer/share_source.hpp"

#include <cstring>

#include "crypto/prg.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"

namespace ppi::dealer {
namespace {

// Reads the stored share blob (16-byte alpha_i, then 32-byte pairs) front to back, one
// database chunk at a time, and masks the pairs on the way out.
class MaskedShareReader final : public grpcsvc::ShareReader {
 public:
  MaskedShareReader(DealerStore& store, BoundBatch batch)
      : store_(store),
        batch_(std::move(batch)),
        layout_(material::MaterialPlan::parse(batch_.plan)),
        prg_(batch_.shares_seed) {
    if (layout_.element_count() != batch_.element_count) {
      throw Error(Errc::internal,
                  "batch " + batch_.batch_id + ": its plan and element count differ");
    }
    std::uint8_t alpha[16];
    read_bytes(0, alpha);
    masked_key_ = material::mask_mac_key(load_u128_le(alpha), batch_.mac_key_mask);
    cleanse(alpha, sizeof alpha);
  }
  ~MaskedShareReader() override { cleanse(chunk_); }

  std::uint64_t total_elements() const override { return batch_.element_count; }
  u128 masked_mac_key_share() const override { return masked_key_; }

  void read(std::uint64_t first_element, std::span<std::uint8_t> out) override {
    read_bytes(16 + 32 * first_element, out);
    material::mask_pairs(layout_, prg_, first_element, out, out);
  }

  void complete() override { store_.complete_shares(batch_.batch_id); }

 private:
  void read_bytes(std::uint64_t offset, std::span<std::uint8_t> out) {
    const std::size_t chunk_size = store_.chunk_size();
    std::size_t done = 0;
    while (done < out.size()) {
      std::uint64_t pos = offset + done;
      auto seq = static_cast<std::int64_t>(pos / chunk_size);
      if (seq != chunk_seq_) {
        cleanse(chunk_);
        chunk_ = store_.read_chunk(batch_.batch_id, seq);
        chunk_seq_ = seq;
      }
      std::size_t in_chunk = pos % chunk_size;
      if (in_chunk >= chunk_.size()) throw Error(Errc::internal, "share chunk is short");
      std::size_t n = std::min(chunk_.size() - in_chunk, out.size() - done);
      std::memcpy(out.data() + done, chunk_.data() + in_chunk, n);
      done += n;
    }
  }

  DealerStore& store_;
  BoundBatch batch_;
  const material::BatchLayout layout_;
  Prg prg_;
  u128 masked_key_ = 0;
  Bytes chunk_;
  std::int64_t chunk_seq_ = -1;
};

}  // namespace

std::unique_ptr<grpcsvc::ShareReader> DealerShareSource::open(const std::string& batch_id,
                                                              const std::string& caller_identity,
                                                              std::uint64_t resume_from_element) {
  BoundBatch batch = store_.open_shares(batch_id, caller_identity, resume_from_element);
  return std::make_unique<MaskedShareReader>(store_, std::move(batch));
}

}  // namespace ppi::dealer
