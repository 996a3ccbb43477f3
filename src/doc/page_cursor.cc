#include "doc/page_cursor.h"

#include <cstdint>

namespace kissvdb::doc {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads a u32le-length-prefixed string from the front of `in`.
bool TakeString(std::string_view* in, std::string* out) {
  if (in->size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  if (in->size() < n) return false;
  out->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

Status Invalid() { return Status::InvalidArgument("cursor is not a cursor this server issued"); }

}  // namespace

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  if (text.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int s = Sextet(c);
    if (s < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(s);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, so every byte string has one encoding.
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string EncodeCursor(const PageCursor& cursor) {
  std::string raw = "K1";
  if (!cursor.sorted) {
    raw.push_back('i');
  } else {
    raw.push_back('s');
    raw.push_back(cursor.descending ? 'd' : 'a');
    PutU32(&raw, static_cast<uint32_t>(cursor.field.size()));
    raw.append(cursor.field);
    PutU32(&raw, static_cast<uint32_t>(cursor.sort_key.size()));
    raw.append(cursor.sort_key);
  }
  raw.append(cursor.id);
  return Base64UrlEncode(raw);
}

Result<PageCursor> DecodeCursor(std::string_view text) {
  std::string raw;
  if (!Base64UrlDecode(text, &raw)) return Invalid();
  std::string_view in = raw;
  if (in.size() < 3 || in.substr(0, 2) != "K1") return Invalid();
  PageCursor c;
  const char mode = in[2];
  in.remove_prefix(3);
  if (mode == 's') {
    if (in.empty() || (in[0] != 'a' && in[0] != 'd')) return Invalid();
    c.sorted = true;
    c.descending = in[0] == 'd';
    in.remove_prefix(1);
    if (!TakeString(&in, &c.field) || !TakeString(&in, &c.sort_key) || c.sort_key.empty()) return Invalid();
  } else if (mode != 'i') {
    return Invalid();
  }
  if (in.empty()) return Invalid();
  c.id.assign(in);
  return c;
}

}  // namespace kissvdb::doc
