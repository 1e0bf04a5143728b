#pragma once
// Lexical helpers over SQL text, shared by both backends and the migration runner. They know
// just enough SQL to find where quotes and comments end: '...' (with '' inside), "...", `...`,
// -- line comments, /* block comments */ and PostgreSQL $tag$...$tag$ bodies.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ppi::db::detail {

// If a quoted string, quoted identifier or comment starts at sql[i], the index just past it
// (sql.size() when unterminated); otherwise i.
std::size_t skip_quoted(std::string_view sql, std::size_t i);

// Number of '?' placeholders outside quotes and comments.
std::size_t count_placeholders(std::string_view sql);

// '?' placeholders outside quotes and comments become $1, $2, ... (PostgreSQL).
std::string to_dollar_placeholders(std::string_view sql);

// Whether s is an identifier chosen by code: [a-z_][a-z0-9_]*, at most 63 characters.
bool is_identifier(std::string_view s);

}  // namespace ppi::db::detail
