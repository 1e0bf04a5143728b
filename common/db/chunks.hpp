#pragma once
// Bulk binary data (shares, material) stored as a sequence of chunks, one row each:
//   <table>(<key_column> text, seq integer, data BYTEA / LONGBLOB), primary key (key, seq).
// Writing and reading hold at most one chunk in memory, whatever the blob's size.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "db/database.hpp"

namespace ppi::db {

inline constexpr std::size_t kDefaultChunkSize = std::size_t{4} << 20;  // 4 MiB

// Which table holds the chunks. Both names are chosen by code, never taken from input; they
// are checked against [a-z_][a-z0-9_]* (Error(invalid_argument) otherwise).
struct ChunkTable {
  std::string_view table;
  std::string_view key_column = "batch_id";
};

// Streams a blob into chunks: write() as data arrives, then finish(). Inserting a key that
// already has chunks fails with Error(conflict): delete_chunks() first to replace.
class ChunkWriter {
 public:
  ChunkWriter(Session& s, ChunkTable t, std::string key,
              std::size_t chunk_size = kDefaultChunkSize);
  void write(ByteView data);
  // Stores the last, partial chunk; returns the number of chunks written.
  std::size_t finish();

 private:
  void flush();

  Session& session_;
  std::string insert_sql_;
  std::string key_;
  std::size_t chunk_size_;
  Bytes buffer_;
  std::int64_t seq_ = 0;
};

// The whole of data in one call; returns the number of chunks (0 for empty data).
std::size_t write_chunks(Session& s, ChunkTable t, std::string_view key, ByteView data,
                         std::size_t chunk_size = kDefaultChunkSize);

// Calls on_chunk for each chunk in order, one query per chunk; returns the total byte count.
std::uint64_t read_chunks(Session& s, ChunkTable t, std::string_view key,
                          const std::function<void(ByteView)>& on_chunk);

// Deletes the chunks of key; returns how many there were.
std::uint64_t delete_chunks(Session& s, ChunkTable t, std::string_view key);

}  // namespace ppi::db
