#include "sql/values.h"

#include <cstdint>
#include <limits>
#include <set>

#include "util/json_writer.h"
#include "util/utf8.h"

namespace kissvdb::sql {

namespace {

Status BindOne(sqlite3_stmt* stmt, int index, const Json& v, const std::string& what) {
  int rc = SQLITE_OK;
  switch (v.type()) {
    case Json::value_t::null:
      rc = sqlite3_bind_null(stmt, index);
      break;
    case Json::value_t::boolean:
      rc = sqlite3_bind_int(stmt, index, v.get<bool>() ? 1 : 0);
      break;
    case Json::value_t::number_integer:
      rc = sqlite3_bind_int64(stmt, index, v.get<int64_t>());
      break;
    case Json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status::InvalidArgument(what + " is larger than SQLite's 64-bit signed INTEGER; send it as a string");
      }
      rc = sqlite3_bind_int64(stmt, index, static_cast<int64_t>(u));
      break;
    }
    case Json::value_t::number_float:
      rc = sqlite3_bind_double(stmt, index, v.get<double>());
      break;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    }
    default:
      return Status::InvalidArgument(what + " must be null, a boolean, a number or a string (arrays and objects "
                                            "cannot be bound; serialize them to a JSON string)");
  }
  if (rc != SQLITE_OK) return Status(Code::kSqliteError, what + ": " + sqlite3_errstr(rc));
  return Status::OK();
}

Status BindArray(sqlite3_stmt* stmt, const Json& params, int count) {
  if (params.size() != static_cast<size_t>(count)) {
    return Status::InvalidArgument("the statement has " + std::to_string(count) + " parameter(s) but params has " +
                                   std::to_string(params.size()));
  }
  for (int i = 0; i < count; ++i) {
    KISSVDB_RETURN_IF_ERROR(BindOne(stmt, i + 1, params[static_cast<size_t>(i)], "params[" + std::to_string(i) + "]"));
  }
  return Status::OK();
}

Status BindObject(sqlite3_stmt* stmt, const Json& params, int count) {
  std::set<std::string> used;
  for (int i = 1; i <= count; ++i) {
    const char* name = sqlite3_bind_parameter_name(stmt, i);
    if (name == nullptr || name[0] == '?') {
      return Status::InvalidArgument("the statement uses positional parameters (?); pass params as an array");
    }
    std::string full(name);
    std::string bare = full.substr(1);
    auto it = params.find(full);
    const std::string* key = &full;
    if (it == params.end()) {
      it = params.find(bare);
      key = &bare;
    }
    if (it == params.end()) return Status::InvalidArgument("params has no value for " + full);
    used.insert(*key);
    KISSVDB_RETURN_IF_ERROR(BindOne(stmt, i, *it, "params." + *key));
  }
  for (const auto& [key, value] : params.items()) {
    if (!used.count(key)) {
      return Status::InvalidArgument("params." + key + " does not match any parameter of the statement");
    }
  }
  return Status::OK();
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

Status BindParams(sqlite3_stmt* stmt, const Json& params) {
  int count = sqlite3_bind_parameter_count(stmt);
  if (params.is_null()) return BindArray(stmt, Json::array(), count);
  if (params.is_array()) return BindArray(stmt, params, count);
  if (params.is_object()) return BindObject(stmt, params, count);
  return Status::InvalidArgument("params must be an array (positional) or an object (named)");
}

Json ColumnJson(sqlite3_stmt* stmt, int i, size_t* bytes) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      *bytes += 20;
      return Json(static_cast<int64_t>(sqlite3_column_int64(stmt, i)));
    case SQLITE_FLOAT:
      *bytes += 24;
      return Json(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      std::string_view s(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      *bytes += s.size() + 2;
      if (utf8::IsValid(s)) return Json(std::string(s));
      return Json(ToValidUtf8(s));
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      std::string_view s(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      std::string encoded = Base64NoPad(s);
      *bytes += encoded.size() + 2;
      return Json(std::move(encoded));
    }
    default:
      *bytes += 4;
      return Json(nullptr);
  }
}

void AppendColumnJson(sqlite3_stmt* stmt, int i, size_t* bytes, std::string* out) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      *bytes += 20;
      out->append(std::to_string(static_cast<int64_t>(sqlite3_column_int64(stmt, i))));
      return;
    case SQLITE_FLOAT:
      *bytes += 24;
      AppendJsonNumber(sqlite3_column_double(stmt, i), out);
      return;
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      std::string_view s(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      *bytes += s.size() + 2;
      if (utf8::IsValid(s)) return AppendJsonString(s, out);
      return AppendJsonString(ToValidUtf8(s), out);
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      std::string_view s(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      std::string encoded = Base64NoPad(s);
      *bytes += encoded.size() + 2;
      return AppendJsonString(encoded, out);
    }
    default:
      *bytes += 4;
      out->append("null");
  }
}

std::string Base64NoPad(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    size_t n = utf8::SequenceLength(p, end);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

}  // namespace kissvdb::sql
