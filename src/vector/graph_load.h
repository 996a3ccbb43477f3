// LoadGraph: reads a graph file written by hnswlib's saveIndex, in one pass.
//
// hnswlib's own loadIndex reads through std::ifstream and, before loading,
// walks every element's link list calling tellg() twice per element: an
// lseek system call each, about a quarter of a collection's boot. And the
// collection had already read the whole file once for its checksum. This
// loader reads the file once, in large sequential reads, computing the CRC32C
// as it goes; it checks every length against the file's size and against
// what the collection's manifest says before allocating by it, and fills the
// same fields loadIndex fills (the in-memory graph is the same, byte for
// byte). A file whose size or checksum differs from the manifest's is an
// error, never a graph. File format: docs/vector-format.md (unchanged).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kissvdb/status.h"
#include "vector/hnsw.h"

namespace kissvdb::vector {

struct GraphFileExpectation {
  uint64_t size = 0;   // bytes, from the manifest
  uint32_t crc = 0;    // CRC32C of the whole file, from the manifest
  size_t slots = 0;    // elements the graph holds
  size_t m = 0;        // the collection's HNSW M
  size_t capacity = 0; // slots to allocate (>= slots)
};

// On error the status is kCorruption (the file does not match) or an I/O
// error; *out is left unset.
Status LoadGraph(const std::string& path, hnswlib::SpaceInterface<float>* space, const GraphFileExpectation& expect,
                 std::unique_ptr<hnswlib::HierarchicalNSW<float>>* out);

}  // namespace kissvdb::vector
