#include "libbiggan/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "libbiggan/util/error.h"

namespace fs = std::filesystem;

namespace biggan::data {

bool has_image_extension(const fs::path& file) {
  // torchvision.datasets.folder.IMG_EXTENSIONS
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : kExts)
    if (ext == e) return true;
  return false;
}

ImageFolderIndex scan_image_folder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw input_error(root.string(), fs::exists(root, ec) ? "not a folder" : "no such folder");
  ImageFolderIndex index;
  for (auto& e : fs::directory_iterator(root, fs::directory_options::follow_directory_symlink))
    if (e.is_directory()) index.classes.push_back(e.path().filename().string());
  std::sort(index.classes.begin(), index.classes.end());
  if (index.classes.empty())
    throw input_error(root.string(), "no class folders (expected ROOT/<class>/<image files>)");

  for (size_t c = 0; c < index.classes.size(); ++c) {
    const fs::path class_dir = root / index.classes[c];
    // os.walk order, then sorted by folder path: collect every folder, sort, list each one's files.
    std::vector<fs::path> dirs{class_dir};
    for (auto it = fs::recursive_directory_iterator(class_dir, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it)
      if (it->is_directory()) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
    size_t before = index.files.size();
    for (auto& d : dirs) {
      std::vector<std::string> names;
      for (auto& e : fs::directory_iterator(d))  // regular files only: a FIFO named x.jpg would hang the reader
        if (e.is_regular_file() && has_image_extension(e.path())) names.push_back(e.path().filename().string());
      std::sort(names.begin(), names.end());
      for (auto& n : names) {
        index.files.push_back(d / n);
        index.labels.push_back(static_cast<int64_t>(c));
      }
    }
    if (index.files.size() == before)
      throw input_error(class_dir.string(), "class folder has no image files (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp)");
  }
  return index;
}

bool jpeg_dimensions(const uint8_t* b, size_t n, int& width, int& height) {
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
  size_t i = 2;
  while (i + 9 < n) {
    if (b[i] != 0xFF) return false;
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // markers without a length
      i += 2;
      continue;
    }
    const size_t len = (size_t(b[i + 2]) << 8) | b[i + 3];
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {  // SOFn
      height = (b[i + 5] << 8) | b[i + 6];
      width = (b[i + 7] << 8) | b[i + 8];
      return width > 0 && height > 0;
    }
    i += 2 + len;
  }
  return false;
}

bool png_dimensions(const uint8_t* b, size_t n, int& width, int& height) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 24 || std::memcmp(b, kSignature, 8) != 0 || std::memcmp(b + 12, "IHDR", 4) != 0) return false;
  auto be32 = [&](size_t i) { return (uint32_t(b[i]) << 24) | (uint32_t(b[i + 1]) << 16) | (uint32_t(b[i + 2]) << 8) | b[i + 3]; };
  const uint32_t w = be32(16), h = be32(20);
  if (w == 0 || h == 0 || w > 0x7FFFFFFF || h > 0x7FFFFFFF) return false;
  width = static_cast<int>(w);
  height = static_cast<int>(h);
  return true;
}

bool jpeg_is_truncated(const uint8_t* b, size_t n) {
  // Entropy-coded data never holds FF D9 (an FF there is followed by 00 or a restart marker), so a
  // complete JPEG has its end-of-image marker after the first start-of-scan. libjpeg would fill the
  // missing rows with grey and carry on; PIL, which the reference decodes with, refuses the file.
  size_t i = 2;
  while (i + 1 < n && !(b[i] == 0xFF && b[i + 1] == 0xDA)) ++i;
  if (i + 1 >= n) return true;  // no scan at all
  for (i += 2; i + 1 < n; ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return false;
  return true;
}

cv::Mat decode_image_file(const fs::path& file, std::string& why, int min_side) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {  // a FIFO or device would block or never end
    why = "not a regular file";
    return {};
  }
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) {
    why = "cannot open";
    return {};
  }
  const std::streamsize size = in.tellg();
  if (size <= 0) {
    why = "empty file";
    return {};
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    why = "read error";
    return {};
  }
  int w = 0, h = 0;
  const bool is_jpeg = jpeg_dimensions(bytes.data(), bytes.size(), w, h);
  if (is_jpeg || png_dimensions(bytes.data(), bytes.size(), w, h)) {
    // Checked on the header, before any pixel is allocated (a reduced JPEG decode would skip
    // OpenCV's own limit).
    if (static_cast<int64_t>(w) * h > kMaxImagePixels) {
      why = "header claims " + std::to_string(w) + "x" + std::to_string(h) + " pixels, over PIL's decompression-bomb limit of " +
            std::to_string(kMaxImagePixels);
      return {};
    }
  }
  if (is_jpeg && jpeg_is_truncated(bytes.data(), bytes.size())) {
    why = "truncated JPEG (no end-of-image marker after the scan data)";
    return {};
  }
  cv::Mat img;
  try {
    // ANYDEPTH keeps 16-bit samples so that we scale them ourselves; ANYCOLOR keeps gray and alpha.
    int flags = cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION;
    if (min_side > 0 && is_jpeg) {
      // libjpeg's scaled output is ceil(size / k).
      const int s = std::min(w, h);
      const int k = (s + 7) / 8 >= min_side ? 8 : (s + 3) / 4 >= min_side ? 4 : (s + 1) / 2 >= min_side ? 2 : 1;
      if (k > 1)
        flags = cv::IMREAD_IGNORE_ORIENTATION |
                (k == 8 ? cv::IMREAD_REDUCED_COLOR_8 : k == 4 ? cv::IMREAD_REDUCED_COLOR_4 : cv::IMREAD_REDUCED_COLOR_2);
    }
    img = cv::imdecode(bytes, flags);
  } catch (const cv::Exception& e) {
    why = std::string("cannot decode: ") + e.what();
    return {};
  }
  if (img.empty() || img.rows == 0 || img.cols == 0) {
    why = "not a decodable image";
    return {};
  }
  if (img.depth() == CV_16U) img.convertTo(img, CV_8U, 1.0 / 257.0);
  else if (img.depth() != CV_8U) img.convertTo(img, CV_8U);
  cv::Mat bgr;
  switch (img.channels()) {
    case 1: cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR); break;
    case 3: bgr = img; break;
    case 4: cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR); break;
    default:
      why = "unsupported channel count " + std::to_string(img.channels());
      return {};
  }
  return bgr;
}

}  // namespace biggan::data
