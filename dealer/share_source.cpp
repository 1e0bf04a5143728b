#include "dealer/share_source.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "crypto/prg.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"

namespace ppi::dealer {
namespace {

// Reads the stored share blob (16-byte alpha_i, then 32-byte pairs) front to back, one
// database chunk at a time, and masks the pairs straight out of the driver's buffer into the
// outgoing message. Chunk boundaries fall 16 bytes into an element (the blob starts with
// alpha_i), so the one element that straddles two chunks is gathered first.
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
    gather(0, alpha);
    masked_key_ = material::mask_mac_key(load_u128_le(alpha), batch_.mac_key_mask);
    cleanse(alpha, sizeof alpha);
  }

  std::uint64_t total_elements() const override { return batch_.element_count; }
  u128 masked_mac_key_share() const override { return masked_key_; }

  void read(std::uint64_t first_element, std::span<std::uint8_t> out) override {
    constexpr std::size_t kPair = material::kPairBytes;
    std::uint64_t element = first_element;
    for (std::size_t done = 0; done < out.size();) {
      const std::uint64_t pos = kHeaderBytes + kPair * element;
      const ByteView in_chunk = chunk_at(pos);
      const std::size_t whole = std::min(in_chunk.size() / kPair, (out.size() - done) / kPair);
      const std::size_t n = whole == 0 ? 1 : whole;
      const auto dst = out.subspan(done, n * kPair);
      if (whole == 0) {
        gather(pos, dst);
        material::mask_pairs(layout_, prg_, element, dst, dst);
      } else {
        material::mask_pairs(layout_, prg_, element, in_chunk.first(n * kPair), dst);
      }
      element += n;
      done += n * kPair;
    }
  }

  void complete() override { store_.complete_shares(batch_.batch_id); }

 private:
  static constexpr std::uint64_t kHeaderBytes = 16;  // alpha_i

  // The stored bytes from pos to the end of the chunk that holds pos, loading that chunk.
  ByteView chunk_at(std::uint64_t pos) {
    const std::size_t chunk_size = store_.chunk_size();
    const auto seq = static_cast<std::int64_t>(pos / chunk_size);
    if (seq != chunk_seq_) {
      chunk_.reset();  // wiped before the next one is read
      chunk_.emplace(store_.read_chunk(batch_.batch_id, seq));
      chunk_seq_ = seq;
    }
    const std::size_t offset = pos % chunk_size;
    if (offset >= chunk_->size()) throw Error(Errc::internal, "share chunk is short");
    return chunk_->view().subspan(offset);
  }

  // Copies the stored bytes [pos, pos + out.size()), across chunks.
  void gather(std::uint64_t pos, std::span<std::uint8_t> out) {
    for (std::size_t done = 0; done < out.size();) {
      const ByteView in_chunk = chunk_at(pos + done);
      const std::size_t n = std::min(in_chunk.size(), out.size() - done);
      std::memcpy(out.data() + done, in_chunk.data(), n);
      done += n;
    }
  }

  DealerStore& store_;
  BoundBatch batch_;
  const material::BatchLayout layout_;
  Prg prg_;
  u128 masked_key_ = 0;
  std::optional<db::Blob> chunk_;
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
