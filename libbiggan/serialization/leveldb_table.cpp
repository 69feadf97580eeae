#include "libbiggan/serialization/leveldb_table.h"

#include <cstdint>

#include "libbiggan/serialization/crc32c.h"
#include "libbiggan/serialization/protobuf_wire.h"
#include "libbiggan/util/error.h"

namespace biggan::leveldb_table {
namespace {

constexpr size_t kFooterSize = 48;  // two BlockHandles padded to 40 bytes, then the 8-byte magic
constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr size_t kTrailerSize = 5;  // compression type + masked CRC32C
constexpr unsigned char kNoCompression = 0, kSnappyCompression = 1;

uint32_t fixed32(std::string_view s, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  return v;
}

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

BlockHandle decode_handle(std::string_view data, size_t& pos, const std::string& context) {
  BlockHandle h;
  h.offset = protowire::read_varint(data, pos, context);
  h.size = protowire::read_varint(data, pos, context);
  return h;
}

// The contents of the block at `h` after checking its bounds, compression type and CRC.
std::string_view read_block(std::string_view table, const BlockHandle& h, const std::string& what,
                            const std::string& source) {
  const uint64_t limit = table.size() - kFooterSize;
  if (h.offset > limit || h.size > limit - h.offset || kTrailerSize > limit - h.offset - h.size)
    throw input_error(source, what + " at offset " + std::to_string(h.offset) + " (size " + std::to_string(h.size) +
                                  ") lies outside the file: truncated or corrupt index");
  const auto block = table.substr(static_cast<size_t>(h.offset), static_cast<size_t>(h.size));
  const auto type = static_cast<unsigned char>(table[h.offset + h.size]);
  const uint32_t stored = crc32c::unmask(fixed32(table, static_cast<size_t>(h.offset + h.size + 1)));
  const uint32_t actual = crc32c::extend(crc32c::value(block.data(), block.size()), &type, 1);
  if (stored != actual)
    throw input_error(source, what + " at offset " + std::to_string(h.offset) + ": CRC32C mismatch (corrupt index)");
  if (type == kSnappyCompression)
    throw input_error(source, what + " is Snappy-compressed, which this reader does not implement (TensorFlow's "
                                     "BundleWriter never compresses; re-save the checkpoint with TensorFlow)");
  if (type != kNoCompression)
    throw input_error(source, what + ": unknown block compression type " + std::to_string(type));
  return block;
}

// The entries of one block, prefix-decoded; keys must increase strictly after `last_key`.
void parse_block(std::string_view block, const std::string& what, const std::string& source,
                 std::string& last_key, bool& have_last, std::vector<Entry>& out) {
  const std::string context = source + ": " + what;
  if (block.size() < 4) throw Error(one_line(context + ": block shorter than its restart count"));
  const uint32_t num_restarts = fixed32(block, block.size() - 4);
  if (num_restarts == 0 || num_restarts > (block.size() - 4) / 4)
    throw Error(one_line(context + ": bad restart count " + std::to_string(num_restarts)));
  const size_t entries_end = block.size() - 4 - 4 * size_t(num_restarts);
  for (uint32_t r = 0; r < num_restarts; ++r) {
    const uint32_t restart = fixed32(block, entries_end + 4 * size_t(r));
    if (entries_end == 0 ? restart != 0 : restart >= entries_end)
      throw Error(one_line(context + ": restart point past the entries"));
  }
  std::string key;
  size_t pos = 0;
  while (pos < entries_end) {
    const auto entries = block.substr(0, entries_end);
    const uint64_t shared = protowire::read_varint(entries, pos, context);
    const uint64_t non_shared = protowire::read_varint(entries, pos, context);
    const uint64_t value_len = protowire::read_varint(entries, pos, context);
    if (shared > key.size()) throw Error(one_line(context + ": entry shares more key bytes than the previous key has"));
    if (non_shared > entries_end - pos || value_len > entries_end - pos - non_shared)
      throw Error(one_line(context + ": entry runs past the end of its block"));
    key.resize(static_cast<size_t>(shared));
    key.append(entries.substr(pos, static_cast<size_t>(non_shared)));
    pos += static_cast<size_t>(non_shared);
    if (have_last && !(last_key < key))
      throw Error(one_line(context + ": keys out of order at '" + key + "'"));
    out.push_back(Entry{key, entries.substr(pos, static_cast<size_t>(value_len))});
    pos += static_cast<size_t>(value_len);
    last_key = key;
    have_last = true;
  }
}

}  // namespace

std::vector<Entry> read_entries(std::string_view table, const std::string& source) {
  if (table.size() < kFooterSize)
    throw input_error(source, "only " + std::to_string(table.size()) + " bytes: truncated (a table ends in a " +
                                  std::to_string(kFooterSize) + "-byte footer)");
  const auto footer = table.substr(table.size() - kFooterSize);
  if ((uint64_t(fixed32(footer, 44)) << 32 | fixed32(footer, 40)) != kTableMagic)
    throw input_error(source, "no LevelDB table magic at the end of the file: truncated or not a variables.index");
  size_t pos = 0;
  const std::string footer_context = source + ": table footer";
  const auto footer_handles = footer.substr(0, 40);
  const BlockHandle metaindex = decode_handle(footer_handles, pos, footer_context);
  const BlockHandle index = decode_handle(footer_handles, pos, footer_context);
  read_block(table, metaindex, "metaindex block", source);  // checked, unused (no filters in a bundle)

  std::vector<Entry> handles;
  std::string last;
  bool have_last = false;
  parse_block(read_block(table, index, "index block", source), "index block", source, last, have_last, handles);

  std::vector<Entry> out;
  last.clear();
  have_last = false;
  for (size_t b = 0; b < handles.size(); ++b) {
    const std::string what = "data block " + std::to_string(b);
    size_t hp = 0;
    const BlockHandle h = decode_handle(handles[b].value, hp, source + ": index entry of " + what);
    const size_t before = out.size();
    parse_block(read_block(table, h, what, source), what, source, last, have_last, out);
    // The index key separates blocks: every key of this block is <= it.
    if (out.size() > before && handles[b].key < out.back().key)
      throw input_error(source, what + " holds keys beyond its index entry (corrupt index)");
  }
  return out;
}

}  // namespace biggan::leveldb_table
