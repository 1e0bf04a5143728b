#include "dealer/share_source.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <optional>

#include "crypto/prg.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "obs/catalog.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

// One chunk of the stored share, masked in place as it is sent: the messages' pieces point
// into the database driver's buffer, so the masked bytes overwrite the plain ones. What is
// never masked here (alpha_i, the halves of the elements that straddle two chunks, what
// precedes a resume point or follows a cancelled stream) is wiped when the last piece is sent.
class MaskedChunk {
 public:
  MaskedChunk(db::Blob blob, std::uint64_t offset) : blob_(std::move(blob)), offset_(offset) {}
  MaskedChunk(const MaskedChunk&) = delete;
  MaskedChunk& operator=(const MaskedChunk&) = delete;
  ~MaskedChunk() {
    const std::span<std::uint8_t> bytes = blob_.mutable_view();
    cleanse(bytes.data(), masked_begin_);
    cleanse(bytes.data() + masked_end_, bytes.size() - masked_end_);
    blob_.contents_wiped();
  }

  std::uint64_t offset() const { return offset_; }  // of its first byte in the share blob
  ByteView bytes() const { return blob_.view(); }
  // Masks bytes [begin, end) in place; successive calls continue where the last one ended.
  std::span<std::uint8_t> mask(const material::BatchLayout& layout, Prg& prg,
                               std::uint64_t first_element, std::size_t begin, std::size_t end) {
    if (masked_end_ > masked_begin_ && begin != masked_end_)
      throw Error(Errc::internal, "share chunk masked out of order");
    const auto span = blob_.mutable_view().subspan(begin, end - begin);
    material::mask_pairs(layout, prg, first_element, span, span);
    if (masked_end_ == masked_begin_) masked_begin_ = begin;
    masked_end_ = end;
    return span;
  }

 private:
  db::Blob blob_;
  const std::uint64_t offset_;
  std::size_t masked_begin_ = 0, masked_end_ = 0;
};

// Reads the stored share blob (16-byte alpha_i, then 32-byte pairs) front to back, one
// database chunk at a time, reading the next chunk while the current one is sent. Chunk
// boundaries fall 16 bytes into an element (the blob starts with alpha_i): the one element
// that straddles two chunks is gathered and masked in a buffer of its own.
class MaskedShareReader final : public grpcsvc::ShareReader {
 public:
  MaskedShareReader(DealerStore& store, BoundBatch batch, std::uint64_t first_element)
      : store_(store),
        batch_(std::move(batch)),
        sent_through_(first_element),
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

  void read(std::uint64_t first_element, std::uint64_t count,
            std::vector<grpcsvc::PairsPiece>& out) override {
    constexpr std::size_t kPair = material::kPairBytes;
    for (std::uint64_t e = first_element, end = first_element + count; e < end;) {
      const std::uint64_t pos = kHeaderBytes + kPair * e;
      const std::shared_ptr<MaskedChunk> chunk = chunk_at(pos);
      const std::size_t begin = pos - chunk->offset();
      const std::uint64_t whole =
          std::min<std::uint64_t>((chunk->bytes().size() - begin) / kPair, end - e);
      if (whole == 0) {  // straddles this chunk and the next
        auto element = std::make_shared<std::array<std::uint8_t, kPair>>();
        gather(pos, *element);
        material::mask_pairs(layout_, prg_, e, *element, *element);
        out.push_back({element, *element});
        e += 1;
        continue;
      }
      out.push_back({chunk, chunk->mask(layout_, prg_, e, begin, begin + whole * kPair)});
      e += whole;
    }
  }

  // Without complete(), the stream ended early: its progress is recorded and the lease freed,
  // so that the model owner can resume at once.
  ~MaskedShareReader() override {
    if (completed_) return;
    try {
      store_.end_shares(batch_.batch_id, batch_.stream_token, sent_through_);
    } catch (const std::exception& e) {
      // The lease then runs out by itself (or at the dealer's restart).
      log::warn("share_stream_end_failed", {{"batch_id", batch_.batch_id}, {"reason", e.what()}});
    }
  }

  // Progress goes to the database at most once a second: it bounds where a later stream may
  // resume (docs/protocol.md), and renews the lease.
  void sent(std::uint64_t next_element) override {
    count_sent(next_element);
    sent_through_ = next_element;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_renewal_ < std::chrono::seconds(1)) return;
    store_.renew_shares(batch_.batch_id, batch_.stream_token, sent_through_);
    last_renewal_ = now;
  }

  void complete() override {
    store_.complete_shares(batch_.batch_id, batch_.stream_token);
    completed_ = true;
    count_sent(batch_.element_count);
    obs::catalog::dealer_releases().with({"shares"}).inc();
  }

 private:
  static constexpr std::uint64_t kHeaderBytes = 16;  // alpha_i

  // The chunk that holds pos: the current one, or the next, whose read then starts the one
  // after it, so the database works while this one is masked and sent.
  std::shared_ptr<MaskedChunk> chunk_at(std::uint64_t pos) {
    const std::size_t chunk_size = store_.chunk_size();
    const auto seq = static_cast<std::int64_t>(pos / chunk_size);
    if (seq != chunk_seq_) {
      chunk_.reset();
      std::optional<db::Blob> blob;
      if (prefetch_.valid() && prefetch_seq_ == seq) {
        blob.emplace(prefetch_.get());
      } else {
        if (prefetch_.valid()) prefetch_.get();  // a resume elsewhere: drop (and wipe) it
        blob.emplace(store_.read_chunk(batch_.batch_id, seq));
      }
      chunk_ = std::make_shared<MaskedChunk>(std::move(*blob),
                                             static_cast<std::uint64_t>(seq) * chunk_size);
      chunk_seq_ = seq;
      const std::uint64_t blob_bytes = kHeaderBytes + material::kPairBytes * batch_.element_count;
      if (static_cast<std::uint64_t>(seq + 1) * chunk_size < blob_bytes) {
        prefetch_seq_ = seq + 1;
        prefetch_ = std::async(std::launch::async, [this, next = seq + 1] {
          return store_.read_chunk(batch_.batch_id, next);
        });
      }
    }
    if (pos - chunk_->offset() >= chunk_->bytes().size())
      throw Error(Errc::internal, "share chunk is short");
    return chunk_;
  }

  // ppi_dealer_release_bytes_total{kind="shares"}: the masked elements up to `next` written.
  void count_sent(std::uint64_t next) {
    if (next <= sent_through_) return;
    obs::catalog::dealer_release_bytes()
        .with({"shares"})
        .inc(static_cast<double>((next - sent_through_) * material::kPairBytes));
  }

  // Copies the stored (plain) bytes [pos, pos + out.size()), across chunks.
  void gather(std::uint64_t pos, std::span<std::uint8_t> out) {
    for (std::size_t done = 0; done < out.size();) {
      const std::shared_ptr<MaskedChunk> chunk = chunk_at(pos + done);
      const ByteView in_chunk = chunk->bytes().subspan(pos + done - chunk->offset());
      const std::size_t n = std::min(in_chunk.size(), out.size() - done);
      std::memcpy(out.data() + done, in_chunk.data(), n);
      done += n;
    }
  }

  DealerStore& store_;
  BoundBatch batch_;
  std::uint64_t sent_through_;
  const material::BatchLayout layout_;
  Prg prg_;
  u128 masked_key_ = 0;
  std::shared_ptr<MaskedChunk> chunk_;  // also held by the pieces gRPC has not sent yet
  std::int64_t chunk_seq_ = -1;
  std::chrono::steady_clock::time_point last_renewal_ = std::chrono::steady_clock::now();
  bool completed_ = false;
  // Declared last, so it is destroyed first: its destructor waits for a read still running.
  std::future<db::Blob> prefetch_;
  std::int64_t prefetch_seq_ = -1;
};

}  // namespace

std::unique_ptr<grpcsvc::ShareReader> DealerShareSource::open(const std::string& batch_id,
                                                              const std::string& caller_identity,
                                                              std::uint64_t resume_from_element) {
  BoundBatch batch = store_.open_shares(batch_id, caller_identity, resume_from_element);
  const std::string token = batch.stream_token;
  try {
    return std::make_unique<MaskedShareReader>(store_, std::move(batch), resume_from_element);
  } catch (...) {
    store_.end_shares(batch_id, token, resume_from_element);  // no reader holds the lease
    throw;
  }
}

}  // namespace ppi::dealer
