#include "db/chunks.hpp"

#include <algorithm>

#include "db/sql_text.hpp"

namespace ppi::db {

namespace {

// The table and column names are the only text pasted into SQL: identifiers chosen by code.
void check(ChunkTable t) {
  if (!detail::is_identifier(t.table) || !detail::is_identifier(t.key_column)) {
    throw Error(Errc::invalid_argument, "chunk table '" + std::string(t.table) + "." +
                                            std::string(t.key_column) +
                                            "' is not a plain identifier");
  }
}

}  // namespace

ChunkWriter::ChunkWriter(Session& s, ChunkTable t, std::string key, std::size_t chunk_size)
    : session_(s), key_(std::move(key)), chunk_size_(chunk_size) {
  check(t);
  if (chunk_size_ == 0) throw Error(Errc::invalid_argument, "chunk size must be positive");
  insert_sql_ = "INSERT INTO " + std::string(t.table) + " (" + std::string(t.key_column) +
                ", seq, data) VALUES (?, ?, ?)";
}

void ChunkWriter::write(ByteView data) {
  while (!data.empty()) {
    const std::size_t n = std::min(data.size(), chunk_size_ - buffer_.size());
    buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    if (buffer_.size() == chunk_size_) flush();
  }
}

void ChunkWriter::flush() {
  std::vector<Param> params{key_, seq_, std::move(buffer_)};
  session_.exec(insert_sql_, params);
  cleanse(std::get<Bytes>(params[2]));  // chunks may hold shares
  buffer_.clear();
  ++seq_;
}

std::size_t ChunkWriter::finish() {
  if (!buffer_.empty()) flush();
  return static_cast<std::size_t>(seq_);
}

std::size_t write_chunks(Session& s, ChunkTable t, std::string_view key, ByteView data,
                         std::size_t chunk_size) {
  ChunkWriter w(s, t, std::string(key), chunk_size);
  w.write(data);
  return w.finish();
}

std::uint64_t read_chunks(Session& s, ChunkTable t, std::string_view key,
                          const std::function<void(ByteView)>& on_chunk) {
  check(t);
  const std::string sql = "SELECT data FROM " + std::string(t.table) + " WHERE " +
                          std::string(t.key_column) + " = ? AND seq = ?";
  std::uint64_t total = 0;
  for (std::int64_t seq = 0;; ++seq) {
    std::optional<Blob> chunk = s.read_blob(sql, {std::string(key), seq});
    if (!chunk) break;
    on_chunk(chunk->view());
    total += chunk->size();
  }
  return total;
}

std::uint64_t delete_chunks(Session& s, ChunkTable t, std::string_view key) {
  check(t);
  return s
      .exec("DELETE FROM " + std::string(t.table) + " WHERE " + std::string(t.key_column) + " = ?",
            {std::string(key)})
      .affected;
}

}  // namespace ppi::db
