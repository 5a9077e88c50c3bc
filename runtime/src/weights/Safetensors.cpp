//===- Safetensors.cpp - Reading and writing safetensors files --*- C++ -*-===//
//
// A safetensors file is an 8-byte little-endian header length, a JSON header
// mapping each tensor name to its dtype, shape and [begin, end) byte range in
// the data section, and the data section itself. Files are mapped read-only
// and every header field is checked against the mapping before a pointer into
// it is made, so no input can make the reader touch memory outside the file.
// JSON is handled with nlohmann/json's non-throwing interface; any exception
// that still escapes (allocation failure) is turned into a Status.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Safetensors.h"
#include "runtime/src/weights/FileChecks.h"
#include "runtime/src/weights/JsonCheck.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; big-endian hosts are not supported"
#endif

using json = nlohmann::json;

namespace coil::weights {

//===----------------------------------------------------------------------===//
// DType and Status
//===----------------------------------------------------------------------===//

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I8:
    return "I8";
  case DType::U8:
    return "U8";
  }
  return "?";
}

bool isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::I8:
  case DType::U8:
    return 1;
  }
  return 0;
}

Status Status::error(std::string message) {
  if (message.empty())
    message = "unknown error";
  return Status(std::move(message));
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// The description of an errno value.
std::string errnoText(int err) { return std::strerror(err); }

/// Appends `value` as compact JSON to `text`, eliding what lies deeper than
/// three levels or past about `limit` characters. The depth bound keeps the
/// recursion shallow however deeply the input nests.
void appendJson(const json &value, std::string &text, size_t limit,
                int depth = 0) {
  constexpr int maxDepth = 3;
  auto dumpScalar = [](const json &scalar) {
    return scalar.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  if (!value.is_structured()) {
    text += dumpScalar(value);
    return;
  }
  bool isArray = value.is_array();
  if (depth >= maxDepth && !value.empty()) {
    text += isArray ? "[...]" : "{...}";
    return;
  }
  text += isArray ? '[' : '{';
  bool first = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!first)
      text += ',';
    first = false;
    if (text.size() > limit) {
      text += "...";
      break;
    }
    if (!isArray)
      text += dumpScalar(json(it.key())) + ':';
    appendJson(*it, text, limit, depth + 1);
  }
  text += isArray ? ']' : '}';
}

/// A JSON value as compact text for a message, cut short when long.
std::string formatJson(const json &value) {
  constexpr size_t maxLength = 80;
  std::string text;
  appendJson(value, text, maxLength);
  if (text.size() > maxLength + 20)
    text = text.substr(0, maxLength) + "...";
  return text;
}

/// The element types of the runtime by their safetensors spelling.
bool parseDType(const std::string &name, DType &dtype) {
  if (name == "F32")
    dtype = DType::F32;
  else if (name == "F16")
    dtype = DType::F16;
  else if (name == "BF16")
    dtype = DType::BF16;
  else if (name == "I8")
    dtype = DType::I8;
  else if (name == "U8")
    dtype = DType::U8;
  else
    return false;
  return true;
}

/// True for the dtypes safetensors defines that the runtime does not read.
bool isOtherSafetensorsDType(const std::string &name) {
  static const char *const others[] = {"BOOL", "I16", "U16", "I32", "U32",
                                       "I64",  "U64", "F64", "C64", "F4"};
  for (const char *other : others)
    if (name == other)
      return true;
  return name.rfind("F8_", 0) == 0 || name.rfind("F6_", 0) == 0;
}

bool endsWith(const std::string &text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         std::string_view(text).substr(text.size() - suffix.size()) == suffix;
}

/// `dir/name`, or `name` when `dir` is empty or `name` is absolute.
std::string joinPath(const std::string &dir, const std::string &name) {
  if (dir.empty() || (!name.empty() && name[0] == '/'))
    return name;
  if (dir.back() == '/')
    return dir + name;
  return dir + "/" + name;
}

/// The folder part of `path` (empty for a bare file name).
std::string parentDir(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return "";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

/// True for a relative path with no ".." component: one that stays inside
/// the folder it is taken relative to.
bool isInsideFolder(const std::string &path) {
  if (path.empty() || path[0] == '/' || path.find('\0') != std::string::npos)
    return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos)
      slash = path.size();
    if (path.compare(start, slash - start, "..") == 0)
      return false;
    start = slash + 1;
  }
  return true;
}

bool pathExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

uint64_t readU64LE(const unsigned char *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points above U+10FFFF), as JSON strings must be.
bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra)
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

/// Opens `path` read-only and checks it is a regular file; on success `fd`
/// is open (the caller closes it) and `size` is the file's size.
Status openRegularFile(const std::string &path, int &fd, off_t &size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below like every file that is not a regular one.
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return Status::error(path + ": cannot open: " + errnoText(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::error(path + ": cannot stat: " + errnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path + ": not a regular file");
  }
  size = st.st_size;
  return Status::ok();
}

/// Reads a whole regular file of at most kMaxJsonFileBytes into `text`.
Status readTextFile(const std::string &path, std::string &text) {
  int fd;
  off_t fileSize;
  if (Status s = openRegularFile(path, fd, fileSize); !s)
    return s;
  if (static_cast<uint64_t>(fileSize) > kMaxJsonFileBytes) {
    ::close(fd);
    return Status::error(
        path + ": " + std::to_string(fileSize) + " bytes, larger than the " +
        std::to_string(kMaxJsonFileBytes) + " bytes an index may have");
  }
  text.clear();
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::error(path + ": cannot read: " + errnoText(err));
    }
    if (n == 0)
      break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::ok();
}

} // namespace

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Maps files into a WeightFileSet under construction. Every mapping is
/// recorded in the set as soon as it is made, so a failed open unmaps
/// everything when the half-built set is destroyed.
class WeightFileSet::Loader {
public:
  explicit Loader(WeightFileSet &set) : set(set) {}

  /// Opens one `.safetensors` file.
  Status loadSingle(const std::string &path) {
    return loadFile(path, set.tensorList, set.metadataMap);
  }

  /// Opens the shards listed by a `model.safetensors.index.json`.
  Status loadIndex(const std::string &indexPath);

private:
  /// Maps and validates one safetensors file, appending its tensors to
  /// `tensors` and its "__metadata__" to `metadata`.
  Status loadFile(const std::string &path, std::vector<TensorInfo> &tensors,
                  std::map<std::string, std::string> &metadata);

  /// Maps `path` read-only, checking it is a regular file of at least 8
  /// bytes.
  Status mapFile(const std::string &path, const unsigned char *&base,
                 size_t &size);

  WeightFileSet &set;
};

Status WeightFileSet::Loader::mapFile(const std::string &path,
                                      const unsigned char *&base,
                                      size_t &size) {
  int fd;
  off_t fileSize;
  if (Status s = openRegularFile(path, fd, fileSize); !s)
    return s;
  if (fileSize < 8) {
    ::close(fd);
    return Status::error(path + ": file is " + std::to_string(fileSize) +
                         " bytes, shorter than the 8-byte header length");
  }
  size = static_cast<size_t>(fileSize);
  int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
  flags |= MAP_POPULATE;
#endif
  void *addr = ::mmap(nullptr, size, PROT_READ, flags, fd, 0);
  int err = errno;
  // The mapping keeps the file alive; the descriptor is not needed.
  ::close(fd);
  if (addr == MAP_FAILED)
    return Status::error(path + ": cannot map: " + errnoText(err));
  try {
    set.mappings.push_back({addr, size});
  } catch (...) {
    ::munmap(addr, size);
    throw;
  }
  base = static_cast<const unsigned char *>(addr);
  return Status::ok();
}

Status
WeightFileSet::Loader::loadFile(const std::string &path,
                                std::vector<TensorInfo> &tensors,
                                std::map<std::string, std::string> &metadata) {
  const unsigned char *base = nullptr;
  size_t size = 0;
  if (Status status = mapFile(path, base, size); !status)
    return status;

  uint64_t headerLength = readU64LE(base);
  uint64_t available = size - 8;
  if (headerLength > available)
    return Status::error(
        path + ": header length " + std::to_string(headerLength) +
        " exceeds the file: only " + std::to_string(available) +
        " bytes follow the 8-byte length");

  const char *headerBegin = reinterpret_cast<const char *>(base + 8);
  const char *headerEnd = headerBegin + headerLength;

  // Repeated keys (the tree would keep one of two tensors silently) and
  // absurd nesting are refused before a tree is built.
  if (std::string problem = checkJsonStructure(
          std::string_view(headerBegin, headerEnd - headerBegin));
      !problem.empty())
    return Status::error(path + ": header: " + problem);
  json header = json::parse(headerBegin, headerEnd, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded())
    return Status::error(path + ": header: not valid JSON");
  if (!header.is_object())
    return Status::error(path + ": header is not a JSON object");

  const unsigned char *data = base + 8 + headerLength;
  uint64_t dataSize = available - headerLength;

  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  std::vector<TensorInfo> found;

  for (const auto &[key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        return Status::error(path +
                             ": \"__metadata__\" must be an object of "
                             "strings, got " +
                             formatJson(value));
      for (const auto &[metaKey, metaValue] : value.items()) {
        if (!metaValue.is_string())
          return Status::error(path + ": \"__metadata__\" entry '" + metaKey +
                               "' must be a string, got " +
                               formatJson(metaValue));
        metadata[metaKey] = metaValue.get<std::string>();
      }
      continue;
    }

    std::string where = path + ": tensor '" + abbreviate(key) + "': ";
    if (!value.is_object())
      return Status::error(where + "entry must be a JSON object, got " +
                           formatJson(value));

    // dtype
    auto dtypeIt = value.find("dtype");
    if (dtypeIt == value.end())
      return Status::error(where + "missing \"dtype\"");
    if (!dtypeIt->is_string())
      return Status::error(where + "\"dtype\" must be a string, got " +
                           formatJson(*dtypeIt));
    const std::string &dtypeText = dtypeIt->get_ref<const std::string &>();
    DType dtype;
    if (!parseDType(dtypeText, dtype)) {
      if (isOtherSafetensorsDType(dtypeText))
        return Status::error(where + "unsupported dtype '" + dtypeText +
                             "' (the runtime reads F32, F16, BF16, I8 and U8)");
      return Status::error(where + "unknown dtype '" + dtypeText + "'");
    }

    // shape
    auto shapeIt = value.find("shape");
    if (shapeIt == value.end())
      return Status::error(where + "missing \"shape\"");
    const std::string shapeExpected =
        "\"shape\" must be an array of non-negative integers, got ";
    if (!shapeIt->is_array())
      return Status::error(where + shapeExpected + formatJson(*shapeIt));
    std::vector<int64_t> shape;
    uint64_t numElements = 1;
    bool tooLarge = false;
    for (const json &dim : *shapeIt) {
      if (!dim.is_number_unsigned())
        return Status::error(where + shapeExpected + formatJson(*shapeIt));
      uint64_t extent = dim.get<uint64_t>();
      if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Status::error(where + "shape extent " + std::to_string(extent) +
                             " is too large");
      shape.push_back(static_cast<int64_t>(extent));
      if (__builtin_mul_overflow(numElements, extent, &numElements))
        tooLarge = true;
    }
    uint64_t numBytes = 0;
    if (tooLarge ||
        numElements >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numElements, uint64_t(dtypeSize(dtype)),
                               &numBytes))
      return Status::error(where + "shape " + formatShape(shape) +
                           " has too many elements");

    // data_offsets
    auto offsetsIt = value.find("data_offsets");
    if (offsetsIt == value.end())
      return Status::error(where + "missing \"data_offsets\"");
    if (!offsetsIt->is_array() || offsetsIt->size() != 2 ||
        !(*offsetsIt)[0].is_number_unsigned() ||
        !(*offsetsIt)[1].is_number_unsigned())
      return Status::error(where +
                           "\"data_offsets\" must be two non-negative "
                           "integers [begin, end], got " +
                           formatJson(*offsetsIt));
    uint64_t begin = (*offsetsIt)[0].get<uint64_t>();
    uint64_t end = (*offsetsIt)[1].get<uint64_t>();
    std::string offsetsText =
        "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end)
      return Status::error(where + "data_offsets " + offsetsText +
                           " must have begin <= end");
    if (end > dataSize)
      return Status::error(where + "data_offsets " + offsetsText +
                           " end beyond the data section of " +
                           std::to_string(dataSize) + " bytes");
    if (end - begin != numBytes)
      return Status::error(
          where + "shape " + formatShape(shape) + " x " + dtypeName(dtype) +
          " needs " + std::to_string(numBytes) +
          " bytes but data_offsets span " + std::to_string(end - begin));

    ranges.push_back({begin, end, found.size()});
    found.push_back(TensorInfo{key, dtype, std::move(shape), data + begin,
                               static_cast<size_t>(numBytes), path});
  }

  // Non-empty byte ranges must not share a byte.
  std::sort(ranges.begin(), ranges.end(), [](const Range &a, const Range &b) {
    return std::make_pair(a.begin, a.end) < std::make_pair(b.begin, b.end);
  });
  const Range *widest = nullptr;
  for (const Range &range : ranges) {
    if (range.begin == range.end)
      continue;
    if (widest && range.begin < widest->end) {
      auto describe = [&](const Range &r) {
        return "'" + found[r.index].name + "' [" + std::to_string(r.begin) +
               ", " + std::to_string(r.end) + "]";
      };
      return Status::error(path + ": data_offsets of tensors " +
                           describe(*widest) + " and " + describe(range) +
                           " overlap");
    }
    if (!widest || range.end > widest->end)
      widest = &range;
  }
  // The tensors must fill the data section exactly, as the format requires:
  // a gap or trailing bytes is what a header length off by a few bytes, or a
  // file cut and padded, leaves behind.
  uint64_t covered = 0;
  for (const Range &range : ranges) {
    if (range.begin == range.end)
      continue;
    if (range.begin != covered)
      return Status::error(path + ": bytes [" + std::to_string(covered) + ", " +
                           std::to_string(range.begin) +
                           ") of the data section belong to no tensor (the "
                           "next one is '" +
                           abbreviate(found[range.index].name) + "')");
    covered = range.end;
  }
  if (covered != dataSize)
    return Status::error(path + ": the data section has " +
                         std::to_string(dataSize - covered) +
                         " byte(s) after the last tensor's data (header "
                         "length or data_offsets wrong?)");

  for (TensorInfo &info : found)
    tensors.push_back(std::move(info));
  return Status::ok();
}

Status WeightFileSet::Loader::loadIndex(const std::string &indexPath) {
  std::string text;
  if (Status status = readTextFile(indexPath, text); !status)
    return status;
  if (std::string problem = checkJsonStructure(text); !problem.empty())
    return Status::error(indexPath + ": index: " + problem);
  json index = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded())
    return Status::error(indexPath + ": index: not valid JSON");
  if (!index.is_object())
    return Status::error(indexPath + ": index is not a JSON object");
  auto mapIt = index.find("weight_map");
  if (mapIt == index.end())
    return Status::error(indexPath + ": missing \"weight_map\"");
  if (!mapIt->is_object())
    return Status::error(indexPath +
                         ": \"weight_map\" must be an object mapping tensor "
                         "names to shard files, got " +
                         formatJson(*mapIt));

  // Shard file -> the tensors the index places in it.
  std::map<std::string, std::vector<std::string>> shardTensors;
  for (const auto &[name, shard] : mapIt->items()) {
    if (!shard.is_string() || shard.get_ref<const std::string &>().empty())
      return Status::error(
          indexPath + ": weight_map entry for tensor '" + abbreviate(name) +
          "' must be a shard file name, got " + formatJson(shard));
    if (!isInsideFolder(shard.get_ref<const std::string &>()))
      return Status::error(indexPath + ": weight_map entry for tensor '" +
                           abbreviate(name) + "' names shard " +
                           formatJson(shard) +
                           ", outside the index's folder (shards are "
                           "relative paths without '..')");
    shardTensors[shard.get<std::string>()].push_back(name);
  }

  std::string dir = parentDir(indexPath);
  // Tensor name -> the shard it was found in.
  std::map<std::string, std::string> foundIn;
  bool first = true;
  for (const auto &[shard, expected] : shardTensors) {
    std::vector<TensorInfo> loaded;
    std::map<std::string, std::string> otherMetadata;
    Status status = loadFile(joinPath(dir, shard), loaded,
                             first ? set.metadataMap : otherMetadata);
    first = false;
    if (!status)
      return Status::error(indexPath + ": shard '" + shard +
                           "': " + status.message());

    for (const TensorInfo &info : loaded) {
      auto [it, inserted] = foundIn.emplace(info.name, shard);
      if (!inserted)
        return Status::error(indexPath + ": tensor '" + info.name +
                             "' is in both shard '" + it->second +
                             "' and shard '" + shard + "'");
    }
    for (const std::string &name : expected) {
      auto it = foundIn.find(name);
      if (it == foundIn.end() || it->second != shard)
        return Status::error(indexPath + ": tensor '" + name +
                             "' is mapped to shard '" + shard +
                             "' but that shard does not contain it");
    }
    for (TensorInfo &info : loaded)
      set.tensorList.push_back(std::move(info));
  }
  return Status::ok();
}

Status WeightFileSet::open(const std::string &path,
                           std::unique_ptr<WeightFileSet> &out) {
  out.reset();
  try {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
      return Status::error(path + ": cannot open: " + errnoText(errno));

    std::unique_ptr<WeightFileSet> set(new WeightFileSet());
    Loader loader(*set);
    Status status = Status::ok();
    if (S_ISDIR(st.st_mode)) {
      std::string single = joinPath(path, "model.safetensors");
      std::string index = joinPath(path, "model.safetensors.index.json");
      if (pathExists(single))
        status = loader.loadSingle(single);
      else if (pathExists(index))
        status = loader.loadIndex(index);
      else
        return Status::error(path +
                             ": directory holds neither model.safetensors "
                             "nor model.safetensors.index.json");
    } else if (endsWith(path, ".json")) {
      status = loader.loadIndex(path);
    } else {
      status = loader.loadSingle(path);
    }
    if (!status)
      return status;

    std::sort(set->tensorList.begin(), set->tensorList.end(),
              [](const TensorInfo &a, const TensorInfo &b) {
                return a.name < b.name;
              });
    out = std::move(set);
    return Status::ok();
  } catch (const std::exception &e) {
    return Status::error(path + ": " + e.what());
  } catch (...) {
    return Status::error(path + ": unexpected failure while opening");
  }
}

WeightFileSet::~WeightFileSet() {
  for (const Mapping &mapping : mappings)
    ::munmap(mapping.addr, mapping.size);
}

const TensorInfo *WeightFileSet::find(std::string_view name) const {
  auto it = std::lower_bound(tensorList.begin(), tensorList.end(), name,
                             [](const TensorInfo &info, std::string_view key) {
                               return std::string_view(info.name) < key;
                             });
  if (it == tensorList.end() || it->name != name)
    return nullptr;
  return &*it;
}

//===----------------------------------------------------------------------===//
// Conversion
//===----------------------------------------------------------------------===//

namespace {

uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

float halfToFloat(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000) << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in f32.
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return bitsToFloat(floatBits(magnitude) | sign);
  }
  if (exponent == 0x1f) // Infinity or NaN (payload kept).
    return bitsToFloat(sign | 0x7f800000 | (mantissa << 13));
  return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToHalf(float value) {
  uint32_t bits = floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) // NaN: keep the top payload bits, stay quiet.
    return static_cast<uint16_t>(sign | 0x7e00 | ((magnitude >> 13) & 0x3ff));
  // 65520 is halfway between 65504 (the largest half) and 65536; it and
  // everything above round to infinity.
  if (magnitude >= 0x477ff000)
    return static_cast<uint16_t>(sign | 0x7c00);
  uint32_t exponent = magnitude >> 23;
  uint32_t mantissa = magnitude & 0x7fffff;
  if (exponent < 113) {
    // Below 2^-14: a subnormal half, mantissa units of 2^-24. Values up to
    // 2^-25 (half a unit, tie to the even zero) round to zero.
    if (exponent < 102)
      return sign;
    uint32_t full = mantissa | 0x800000;
    uint32_t shift = 126 - exponent; // 14..24
    uint32_t quotient = full >> shift;
    uint32_t remainder = full & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (remainder > halfway || (remainder == halfway && (quotient & 1)))
      ++quotient; // May carry into the smallest normal, 0x0400.
    return static_cast<uint16_t>(sign | quotient);
  }
  uint32_t result = ((exponent - 112) << 10) | (mantissa >> 13);
  uint32_t remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder == 0x1000 && (result & 1)))
    ++result; // May carry into the exponent; stays below infinity.
  return static_cast<uint16_t>(sign | result);
}

float bf16ToFloat(uint16_t value) { return bitsToFloat(uint32_t(value) << 16); }

uint16_t floatToBf16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN: truncate and force quiet.
    return static_cast<uint16_t>((bits >> 16) | 0x0040);
  uint32_t roundingBias = 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

} // namespace

void convertToF32(DType dtype, const void *src, float *dst, size_t count) {
  const unsigned char *bytes = static_cast<const unsigned char *>(src);
  switch (dtype) {
  case DType::F32:
    std::memcpy(dst, src, count * sizeof(float));
    return;
  case DType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, bytes + 2 * i, sizeof(half));
      dst[i] = halfToFloat(half);
    }
    return;
  case DType::BF16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t bf16;
      std::memcpy(&bf16, bytes + 2 * i, sizeof(bf16));
      dst[i] = bf16ToFloat(bf16);
    }
    return;
  case DType::I8:
    for (size_t i = 0; i < count; ++i)
      dst[i] = static_cast<float>(static_cast<int8_t>(bytes[i]));
    return;
  case DType::U8:
    for (size_t i = 0; i < count; ++i)
      dst[i] = static_cast<float>(bytes[i]);
    return;
  }
}

void convertFromF32(DType dtype, const float *src, void *dst, size_t count) {
  unsigned char *bytes = static_cast<unsigned char *>(dst);
  switch (dtype) {
  case DType::F32:
    std::memcpy(dst, src, count * sizeof(float));
    return;
  case DType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half = floatToHalf(src[i]);
      std::memcpy(bytes + 2 * i, &half, sizeof(half));
    }
    return;
  case DType::BF16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t bf16 = floatToBf16(src[i]);
      std::memcpy(bytes + 2 * i, &bf16, sizeof(bf16));
    }
    return;
  case DType::I8:
  case DType::U8:
    break; // Not a float dtype: nothing to round to.
  }
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {

/// A temporary file that is closed and removed on destruction unless it was
/// renamed into place.
struct TempFile {
  std::string path;
  int fd = -1;
  bool renamed = false;

  ~TempFile() {
    if (fd >= 0)
      ::close(fd);
    if (!renamed && !path.empty())
      ::unlink(path.c_str());
  }
};

/// Writes all of `[data, data + size)` to `fd`; returns 0 or an errno value.
int writeAll(int fd, const void *data, size_t size) {
  const char *bytes = static_cast<const char *>(data);
  while (size > 0) {
    // Linux writes at most about 2 GiB per call.
    size_t chunk = std::min<size_t>(size, size_t(1) << 30);
    ssize_t n = ::write(fd, bytes, chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      return EIO;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

Status writeFile(const std::string &path,
                 const std::vector<TensorToWrite> &tensors,
                 const std::map<std::string, std::string> &metadata) {
  // Validate everything before creating any file.
  std::vector<const TensorToWrite *> byName;
  for (const TensorToWrite &tensor : tensors)
    byName.push_back(&tensor);
  std::sort(byName.begin(), byName.end(),
            [](const TensorToWrite *a, const TensorToWrite *b) {
              return a->name < b->name;
            });
  std::vector<uint64_t> sizes(tensors.size());
  for (size_t i = 0; i < byName.size(); ++i) {
    const TensorToWrite &tensor = *byName[i];
    std::string where = path + ": tensor '" + tensor.name + "': ";
    if (i > 0 && byName[i - 1]->name == tensor.name)
      return Status::error(where + "listed twice");
    if (tensor.name == "__metadata__")
      return Status::error(where + "the name is reserved for the metadata");
    if (!isValidUtf8(tensor.name))
      return Status::error(path + ": a tensor name is not valid UTF-8");
    uint64_t numElements = 1;
    for (int64_t dim : tensor.shape) {
      if (dim < 0)
        return Status::error(where + "shape " + formatShape(tensor.shape) +
                             " has a negative extent");
      if (__builtin_mul_overflow(numElements, uint64_t(dim), &numElements))
        return Status::error(where + "shape " + formatShape(tensor.shape) +
                             " has too many elements");
    }
    uint64_t numBytes;
    if (__builtin_mul_overflow(numElements, uint64_t(dtypeSize(tensor.dtype)),
                               &numBytes))
      return Status::error(where + "shape " + formatShape(tensor.shape) +
                           " has too many elements");
    if (numBytes > 0 && !tensor.data)
      return Status::error(where + "no data for " + std::to_string(numBytes) +
                           " bytes");
    sizes[static_cast<size_t>(&tensor - tensors.data())] = numBytes;
  }
  for (const auto &[key, value] : metadata)
    if (!isValidUtf8(key) || !isValidUtf8(value))
      return Status::error(path + ": metadata entry '" + key +
                           "' is not valid UTF-8");

  // Data order: widest element type first, then by name, so that every
  // tensor starts at a multiple of its element size.
  std::vector<const TensorToWrite *> layout = byName;
  std::sort(layout.begin(), layout.end(),
            [](const TensorToWrite *a, const TensorToWrite *b) {
              size_t sizeA = dtypeSize(a->dtype), sizeB = dtypeSize(b->dtype);
              return sizeA != sizeB ? sizeA > sizeB : a->name < b->name;
            });
  json header = json::object();
  uint64_t offset = 0;
  for (const TensorToWrite *tensor : layout) {
    uint64_t numBytes = sizes[static_cast<size_t>(tensor - tensors.data())];
    json entry = json::object();
    entry["dtype"] = dtypeName(tensor->dtype);
    entry["shape"] = tensor->shape;
    entry["data_offsets"] = json::array({offset, offset + numBytes});
    header[tensor->name] = std::move(entry);
    offset += numBytes;
  }
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string headerText =
      header.dump(-1, ' ', false, json::error_handler_t::replace);
  while ((8 + headerText.size()) % 8 != 0)
    headerText.push_back(' ');
  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] =
        static_cast<unsigned char>(uint64_t(headerText.size()) >> (8 * i));

  if (path == kNullOutput)
    return Status::ok();
  // A name no other writer (thread or process) uses: mkstemp creates it.
  TempFile temp;
  std::string tempPath = path + ".tmp.XXXXXX";
  temp.fd = ::mkostemp(tempPath.data(), O_CLOEXEC);
  if (temp.fd < 0)
    return Status::error(path + ": cannot create " + tempPath + ": " +
                         errnoText(errno));
  temp.path = tempPath;
  if (::fchmod(temp.fd, 0644) != 0)
    return Status::error(path + ": cannot set the mode of " + tempPath + ": " +
                         errnoText(errno));

  int err = writeAll(temp.fd, lengthBytes, sizeof(lengthBytes));
  if (!err)
    err = writeAll(temp.fd, headerText.data(), headerText.size());
  for (const TensorToWrite *tensor : layout) {
    if (err)
      break;
    err = writeAll(temp.fd, tensor->data,
                   sizes[static_cast<size_t>(tensor - tensors.data())]);
  }
  if (err)
    return Status::error(path + ": cannot write " + tempPath + ": " +
                         errnoText(err));
  if (::fsync(temp.fd) != 0)
    return Status::error(path + ": cannot flush " + tempPath + ": " +
                         errnoText(errno));
  int fd = temp.fd;
  temp.fd = -1;
  if (::close(fd) != 0)
    return Status::error(path + ": cannot close " + tempPath + ": " +
                         errnoText(errno));
  if (::rename(tempPath.c_str(), path.c_str()) != 0)
    return Status::error(path + ": cannot rename " + tempPath +
                         " into place: " + errnoText(errno));
  temp.renamed = true;
  return Status::ok();
}

} // namespace

Status writeSafetensors(const std::string &path,
                        const std::vector<TensorToWrite> &tensors,
                        const std::map<std::string, std::string> &metadata) {
  if (std::string problem = checkOutputFile(path); !problem.empty())
    return Status::error(problem);
  try {
    return writeFile(path, tensors, metadata);
  } catch (const std::exception &e) {
    return Status::error(path + ": " + e.what());
  } catch (...) {
    return Status::error(path + ": unexpected failure while writing");
  }
}

size_t countNonFinite(DType dtype, const void *data, size_t count) {
  // The exponent bits all set: infinity or NaN, in every format.
  const auto *bytes = static_cast<const unsigned char *>(data);
  size_t found = 0;
  if (!isFloat(dtype))
    return 0;
  if (dtype == DType::F32) {
    for (size_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, bytes + 4 * i, sizeof(bits));
      found += (bits & 0x7f800000u) == 0x7f800000u;
    }
    return found;
  }
  const uint16_t exponent = dtype == DType::F16 ? 0x7c00 : 0x7f80;
  for (size_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, bytes + 2 * i, sizeof(bits));
    found += (bits & exponent) == exponent;
  }
  return found;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

} // namespace coil::weights
