// POSIX ustar archives of directories and regular files: what it takes to
// ship a backup directory as one stream (GET /v1/admin/backups/{name}) and
// unpack it again (`kissvdb restore <archive.tar>`). Any tar(1) reads and
// writes the same thing.
//
// Format (POSIX.1-1988 ustar): each member is a 512-byte header followed by
// its data padded with zeros to a multiple of 512; the archive ends with two
// zero blocks. Paths longer than 100 bytes are split into the header's
// `prefix` (≤ 155) and `name` (≤ 100) fields at a '/'. Sizes of 8 GiB and
// more use the base-256 size encoding of GNU tar and star.
//
// The reader is deliberately strict, because an archive is untrusted input:
// only regular files and directories, relative paths without "." or ".."
// components, verified header checksums, no data past the end marker.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::tar {

inline constexpr size_t kBlockSize = 512;

// The header of a regular file `path` (relative, '/'-separated) of `size`
// bytes. InvalidArgument if the path does not fit ustar's fields.
Result<std::string> FileHeader(std::string_view path, uint64_t size, uint32_t mode, int64_t mtime_s);

// The header of a directory (`path` without a trailing slash).
Result<std::string> DirHeader(std::string_view path, uint32_t mode, int64_t mtime_s);

// Zero bytes that pad `size` bytes of file data to a whole block.
std::string Padding(uint64_t size);

// The end-of-archive marker: two zero blocks.
std::string EndOfArchive();

// Reads an archive from a file descriptor (a file or a pipe) and recreates
// its members under `dir`, which must exist. Files are created 0644 (0755
// dirs) whatever the archive says, and fsynced. Corruption on a bad
// checksum, truncation, an unsafe path or a member type other than file or
// directory; nothing is written outside `dir`.
Status ExtractTo(int fd, const std::string& dir);

}  // namespace kissvdb::tar
