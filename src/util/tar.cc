#include "util/tar.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/file_util.h"

namespace kissvdb::tar {

namespace {

// Field offsets and widths of the ustar header.
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100, kUid = 108, kGid = 116, kIdLen = 8;
constexpr size_t kSize = 124, kSizeLen = 12;
constexpr size_t kMtime = 136, kMtimeLen = 12;
constexpr size_t kChecksum = 148, kChecksumLen = 8;
constexpr size_t kType = 156;
constexpr size_t kMagic = 257;
constexpr size_t kPrefix = 345, kPrefixLen = 155;

constexpr char kRegular = '0';
constexpr char kDirectory = '5';

// Writes `value` as zero-padded octal digits filling `width - 1` bytes and a
// NUL. False if it does not fit.
bool PutOctal(std::string& h, size_t at, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    h[at + i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  h[at + width - 1] = '\0';
  return value == 0;
}

// Splits `path` into ustar's prefix and name fields.
bool SplitPath(std::string_view path, std::string_view* prefix, std::string_view* name) {
  if (path.size() <= kNameLen) {
    *prefix = {};
    *name = path;
    return true;
  }
  // The last '/' that leaves a name of at most 100 bytes and a prefix of at most 155.
  for (size_t slash = path.rfind('/'); slash != std::string_view::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    if (path.size() - slash - 1 > kNameLen) break;
    if (slash <= kPrefixLen) {
      *prefix = path.substr(0, slash);
      *name = path.substr(slash + 1);
      return !name->empty();
    }
  }
  return false;
}

uint32_t SumOf(const std::string& h) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlockSize; ++i) {
    const bool in_checksum = i >= kChecksum && i < kChecksum + kChecksumLen;
    sum += in_checksum ? uint32_t{' '} : static_cast<unsigned char>(h[i]);
  }
  return sum;
}

Result<std::string> Header(std::string_view path, char type, uint64_t size, uint32_t mode, int64_t mtime_s) {
  std::string_view prefix, name;
  if (path.empty() || path.front() == '/' || !SplitPath(path, &prefix, &name)) {
    return Status::InvalidArgument("path does not fit a ustar header: " + std::string(path));
  }
  std::string h(kBlockSize, '\0');
  std::memcpy(&h[kName], name.data(), name.size());
  // An empty prefix view may hold nullptr: memcpy from it is undefined even
  // for 0 bytes (UBSan, the asan pass of scripts/test.sh).
  if (!prefix.empty()) std::memcpy(&h[kPrefix], prefix.data(), prefix.size());
  PutOctal(h, kMode, kIdLen, mode & 07777);
  PutOctal(h, kUid, kIdLen, 0);
  PutOctal(h, kGid, kIdLen, 0);
  if (!PutOctal(h, kSize, kSizeLen, size)) {
    // Base-256: a leading 0x80 byte, then the size big-endian.
    h[kSize] = static_cast<char>(0x80);
    for (size_t i = kSizeLen; i-- > 1;) {
      h[kSize + i] = static_cast<char>(size & 0xff);
      size >>= 8;
    }
  }
  PutOctal(h, kMtime, kMtimeLen, static_cast<uint64_t>(std::max<int64_t>(mtime_s, 0)));
  h[kType] = type;
  std::memcpy(&h[kMagic], "ustar\0" "00", 8);
  // Six octal digits, NUL, space: what tar(1) writes.
  PutOctal(h, kChecksum, 7, SumOf(h));
  h[kChecksum + 7] = ' ';
  return h;
}

// ---- Reading ---------------------------------------------------------------

// Reads exactly n bytes; false at a clean EOF before the first byte.
Result<bool> ReadFull(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return file_util::ErrnoStatus("read", "archive", errno);
    if (r == 0) {
      if (got == 0) return false;
      return Status::Corruption("the archive is truncated");
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

Result<uint64_t> ParseNumber(const char* field, size_t width) {
  const auto* p = reinterpret_cast<const unsigned char*>(field);
  if (p[0] & 0x80) {  // base-256
    uint64_t v = 0;
    if (p[0] != 0x80) return Status::Corruption("unsupported base-256 number in a tar header");
    for (size_t i = 1; i < width; ++i) {
      if (v >> 56) return Status::Corruption("a tar header number overflows");
      v = (v << 8) | p[i];
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && p[i] == ' ') ++i;
  for (; i < width && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return Status::Corruption("a tar header number overflows");
    v = (v << 3) | (p[i] - '0');
  }
  for (; i < width; ++i) {
    if (p[i] != '\0' && p[i] != ' ') return Status::Corruption("a tar header number is not octal");
  }
  return v;
}

std::string FieldString(const char* field, size_t width) { return std::string(field, strnlen(field, width)); }

// The member's path, relative and normalized ("./a//b" -> "a/b"); Corruption
// if it is absolute or climbs out with "..". Empty for the archive root.
Result<std::string> SafePath(const std::string& raw) {
  if (raw.empty() || raw.front() == '/') return Status::Corruption("unsafe path in archive: '" + raw + "'");
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string_view part(raw.data() + start, end - start);
    if (part == "..") return Status::Corruption("unsafe path in archive: '" + raw + "'");
    if (part.find('\0') != std::string_view::npos || part.find('\\') != std::string_view::npos) {
      return Status::Corruption("unsafe path in archive: '" + raw + "'");
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return file_util::ErrnoStatus("write", path, errno);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// Copies `size` bytes of member data from the archive into a new file, then
// skips the padding.
Status ExtractFile(int in, const std::string& path, uint64_t size) {
  int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return file_util::ErrnoStatus("create", path, errno);
  std::vector<char> buf(1 << 20);
  Status st;
  uint64_t left = size;
  while (st.ok() && left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    auto got = ReadFull(in, buf.data(), n);
    if (!got.ok()) {
      st = got.status();
    } else if (!*got) {
      st = Status::Corruption("the archive is truncated inside " + path);
    } else {
      st = WriteAll(out, buf.data(), n, path);
      left -= n;
    }
  }
  if (st.ok() && ::fsync(out) != 0) st = file_util::ErrnoStatus("fsync", path, errno);
  ::close(out);
  if (!st.ok()) return st;
  const size_t pad = static_cast<size_t>((kBlockSize - size % kBlockSize) % kBlockSize);
  if (pad > 0) {
    auto got = ReadFull(in, buf.data(), pad);
    if (!got.ok()) return got.status();
    if (!*got) return Status::Corruption("the archive is truncated after " + path);
  }
  return Status::OK();
}

bool AllZero(const char* block) {
  for (size_t i = 0; i < kBlockSize; ++i) {
    if (block[i] != '\0') return false;
  }
  return true;
}

}  // namespace

Result<std::string> FileHeader(std::string_view path, uint64_t size, uint32_t mode, int64_t mtime_s) {
  return Header(path, kRegular, size, mode, mtime_s);
}

Result<std::string> DirHeader(std::string_view path, uint32_t mode, int64_t mtime_s) {
  return Header(path, kDirectory, 0, mode, mtime_s);
}

std::string Padding(uint64_t size) { return std::string((kBlockSize - size % kBlockSize) % kBlockSize, '\0'); }

std::string EndOfArchive() { return std::string(2 * kBlockSize, '\0'); }

Status ExtractTo(int fd, const std::string& dir) {
  std::string block(kBlockSize, '\0');
  for (;;) {
    auto got = ReadFull(fd, block.data(), kBlockSize);
    if (!got.ok()) return got.status();
    if (!*got) return Status::Corruption("the archive ends without its end-of-archive marker");
    if (AllZero(block.data())) return Status::OK();  // the end marker (its second block is not needed)
    if (std::memcmp(&block[kMagic], "ustar", 5) != 0) {
      return Status::Corruption("not a ustar archive (bad magic in a header)");
    }
    auto checksum = ParseNumber(&block[kChecksum], kChecksumLen);
    if (!checksum.ok()) return checksum.status();
    if (*checksum != SumOf(block)) return Status::Corruption("a tar header checksum does not match");
    auto size = ParseNumber(&block[kSize], kSizeLen);
    if (!size.ok()) return size.status();

    std::string raw = FieldString(&block[kName], kNameLen);
    const std::string prefix = FieldString(&block[kPrefix], kPrefixLen);
    if (!prefix.empty()) raw = prefix + "/" + raw;
    auto rel = SafePath(raw);
    if (!rel.ok()) return rel.status();
    const std::string path = rel->empty() ? dir : dir + "/" + *rel;

    const char type = block[kType];
    if (type == kDirectory) {
      if (*size != 0) return Status::Corruption("directory " + raw + " has data in the archive");
      KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(path));
    } else if (type == kRegular || type == '\0') {
      if (rel->empty()) return Status::Corruption("a file member without a name");
      const size_t slash = path.rfind('/');
      KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(path.substr(0, slash)));
      KISSVDB_RETURN_IF_ERROR(ExtractFile(fd, path, *size));
    } else {
      return Status::Corruption("archive member " + raw + " is neither a regular file nor a directory (type '" +
                                std::string(1, type) + "')");
    }
  }
}

}  // namespace kissvdb::tar
