#include "db/sql_text.hpp"

#include <cctype>

namespace ppi::db::detail {

namespace {

// The end of a PostgreSQL dollar-quote tag ($$ or $name$) starting at i, or npos.
std::size_t dollar_tag_end(std::string_view sql, std::size_t i) {
  std::size_t j = i + 1;
  while (j < sql.size() &&
         (sql[j] == '_' || (sql[j] >= 'a' && sql[j] <= 'z') || (sql[j] >= 'A' && sql[j] <= 'Z') ||
          (j > i + 1 && sql[j] >= '0' && sql[j] <= '9'))) {
    ++j;
  }
  return j < sql.size() && sql[j] == '$' ? j + 1 : std::string_view::npos;
}

}  // namespace

std::size_t skip_quoted(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
  if (i >= n) return i;
  const char c = sql[i];
  if (c == '\'' || c == '"' || c == '`') {
    // A doubled quote inside stays inside ('it''s').
    for (std::size_t j = i + 1; j < n; ++j) {
      if (sql[j] != c) continue;
      if (j + 1 < n && sql[j + 1] == c) {
        ++j;
        continue;
      }
      return j + 1;
    }
    return n;
  }
  if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
    const std::size_t e = sql.find('\n', i);
    return e == std::string_view::npos ? n : e + 1;
  }
  if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
    const std::size_t e = sql.find("*/", i + 2);
    return e == std::string_view::npos ? n : e + 2;
  }
  if (c == '$' &&
      (i == 0 || !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) || sql[i - 1] == '_'))) {
    const std::size_t t = dollar_tag_end(sql, i);
    if (t == std::string_view::npos) return i;
    const std::size_t e = sql.find(sql.substr(i, t - i), t);
    return e == std::string_view::npos ? n : e + (t - i);
  }
  return i;
}

std::size_t count_placeholders(std::string_view sql) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t j = skip_quoted(sql, i);
    if (j != i) {
      i = j;
      continue;
    }
    if (sql[i] == '?') ++count;
    ++i;
  }
  return count;
}

std::string to_dollar_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  std::size_t n = 0;
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t j = skip_quoted(sql, i);
    if (j != i) {
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (sql[i] == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += sql[i];
    }
    ++i;
  }
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace ppi::db::detail
