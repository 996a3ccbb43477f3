#include "util/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/utf8.h"

namespace kissvdb {

void AppendJsonString(std::string_view s, std::string* out) {
  const size_t start = out->size();
  out->reserve(start + s.size() + 2);
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;  // bytes from here to p are written as they are
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = utf8::SequenceLength(p, end);
      if (n == 0) {
        // Ill-formed UTF-8: nlohmann's own replacement rules, exactly.
        out->resize(start);
        out->append(nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
      }
      p += n;
      continue;
    }
    out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: {  // other control characters, as nlohmann writes them: \u00XX in lower case
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
    run = ++p;
  }
  out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(end - run));
  out->push_back('"');
}

void AppendJson(const nlohmann::json& v, std::string* out) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null:
      out->append("null");
      return;
    case T::boolean:
      out->append(v.get<bool>() ? "true" : "false");
      return;
    case T::number_integer: {
      char buf[24];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.get<int64_t>());
      out->append(buf, end);
      return;
    }
    case T::number_unsigned: {
      char buf[24];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.get<uint64_t>());
      out->append(buf, end);
      return;
    }
    case T::number_float:
      AppendJsonNumber(v.get<double>(), out);
      return;
    case T::string:
      AppendJsonString(v.get_ref<const std::string&>(), out);
      return;
    case T::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.get_ref<const nlohmann::json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(e, out);
      }
      out->push_back(']');
      return;
    }
    case T::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, e] : v.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(key, out);
        out->push_back(':');
        AppendJson(e, out);
      }
      out->push_back('}');
      return;
    }
    default:  // binary, discarded: nlohmann's own form
      out->append(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

std::string DumpJson(const nlohmann::json& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

void AppendJsonNumber(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendJsonFloat(float v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
  if (ec != std::errc()) {
    AppendJsonNumber(v, out);
    return;
  }
  out->append(buf, end);
  if (std::memchr(buf, '.', end - buf) == nullptr && std::memchr(buf, 'e', end - buf) == nullptr) out->append(".0");
}

}  // namespace kissvdb
