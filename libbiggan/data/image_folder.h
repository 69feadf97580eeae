// An ImageFolder tree as torchvision's ImageFolder (and the reference's own copy of it) reads one:
// every sub-folder of the root is a class, class index = position in the sorted folder names; the
// images of a class are all files below its folder (recursively, following links) whose extension is
// one of torchvision's IMG_EXTENSIONS (case-insensitive), folders in sorted path order and files in
// sorted name order within each folder. Sorting is by bytes, which for UTF-8 names is Python's order.
#pragma once
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace biggan::data {

struct ImageFolderIndex {
  std::vector<std::string> classes;          // sorted folder names
  std::vector<std::filesystem::path> files;  // all images, class by class
  std::vector<int64_t> labels;               // class index of each file
};

// Scans `root`. Clear errors for a missing root, a root without class folders, a class folder with
// no image files in it, and a tree without any images.
ImageFolderIndex scan_image_folder(const std::filesystem::path& root);

// True if the file name has one of the extensions the scan picks up.
bool has_image_extension(const std::filesystem::path& file);

// Decodes an image file into 8-bit 3-channel BGR, as PIL's convert('RGB') would see it: grayscale
// replicated to three channels, alpha dropped (not composited), EXIF orientation ignored (PIL does not
// apply it either), 16-bit samples scaled to 8 bits. Returns an empty Mat and sets `why` when the file
// cannot be read or decoded (not a regular file, empty, truncated JPEG — PIL refuses those too —, a
// header over kMaxImagePixels, not an image).
// min_side > 0 allows a faster, approximate decode of JPEGs: libjpeg's DCT scaling to 1/2, 1/4 or 1/8
// (the smallest whose short side is still >= min_side), like PIL's Image.draft. Not bit-exact with a
// full decode; other formats are always decoded fully.
cv::Mat decode_image_file(const std::filesystem::path& file, std::string& why, int min_side = 0);

// PIL's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS): larger images are refused
// from their header, before any pixel memory is taken.
constexpr int64_t kMaxImagePixels = 2 * int64_t(89478485);

// Width and height from a JPEG's frame header / a PNG's IHDR, without decoding; false if not that
// format or no header.
bool jpeg_dimensions(const uint8_t* bytes, size_t n, int& width, int& height);
bool png_dimensions(const uint8_t* bytes, size_t n, int& width, int& height);

// True when a JPEG has no end-of-image marker after its first scan (the file was cut short).
bool jpeg_is_truncated(const uint8_t* bytes, size_t n);

}  // namespace biggan::data
