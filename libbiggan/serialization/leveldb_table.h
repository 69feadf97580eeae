// A reader of LevelDB-format tables (SSTables), the container of TensorFlow's variables.index:
//   data blocks, a metaindex block, an index block (each followed by a 5-byte trailer: a compression
//   type byte and a masked CRC32C of block + type), then a 48-byte footer holding the metaindex and
//   index block handles and the magic number. A block is prefix-compressed entries followed by its
//   restart-point array.
// Every block's CRC, every length and the key order are checked; a bad table is a one-line
// biggan::Error naming `source`. Only uncompressed blocks are read: TensorFlow's BundleWriter and
// MergeBundles always write kNoCompression, and a Snappy block is refused with a message saying so.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace biggan::leveldb_table {

struct Entry {
  std::string key;
  std::string_view value;  // a view into the table's bytes
};

// Every entry of the table, in key order (strictly increasing, bytewise).
std::vector<Entry> read_entries(std::string_view table, const std::string& source);

}  // namespace biggan::leveldb_table
