//===- Model.cpp - A loaded compiled model and its weights ------*- C++ -*-===//
//
// Loading resolves everything a call needs (metadata, kernel functions) so
// that sessions never look anything up. Binding checks the weight files
// against the metadata in both directions before the model changes: every
// listed weight present with its shape and a usable dtype, and every tensor
// of the files used.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Model.h"

#include "coil/abi.h"

#include "runtime/src/CpuFeatures.h"
#include "runtime/src/weights/Quantize.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <sched.h>

namespace coil::runtime {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Packs panels [pBegin, pEnd) of the matrix `src` [n, k] (f32 or int8)
/// into panels of n0 rows: dst[p][kk][j] = src[p * n0 + j][kk] (times
/// scale[kk] when `scale` is given, f32 only), zero past row n. Blocks of
/// 16 columns keep the reads contiguous and the written lines in L1.
template <typename T>
void packPanelRange(const T *src, const float *scale, int64_t n, int64_t k,
                    int64_t n0, T *dst, int64_t pBegin, int64_t pEnd) {
  constexpr int64_t kBlock = 16;
  for (int64_t p = pBegin; p < pEnd; ++p) {
    T *panel = dst + p * k * n0;
    int64_t rows = std::min(n0, n - p * n0);
    for (int64_t k0 = 0; k0 < k; k0 += kBlock) {
      int64_t k1 = std::min(k, k0 + kBlock);
      for (int64_t j = 0; j < rows; ++j) {
        const T *row = src + (p * n0 + j) * k;
        if constexpr (std::is_same_v<T, float>)
          if (scale) {
            for (int64_t kk = k0; kk < k1; ++kk)
              panel[kk * n0 + j] = row[kk] * scale[kk];
            continue;
          }
        for (int64_t kk = k0; kk < k1; ++kk)
          panel[kk * n0 + j] = row[kk];
      }
      for (int64_t kk = k0; kk < k1; ++kk)
        for (int64_t j = rows; j < n0; ++j)
          panel[kk * n0 + j] = T(0);
    }
  }
}

/// Two int4 values (in [-8, 7]) in one byte: `low` in bits 0-3, `high` in
/// bits 4-7, each in two's complement.
uint8_t nibbles(int8_t low, int8_t high) {
  return static_cast<uint8_t>((static_cast<uint8_t>(low) & 0xF) |
                              ((static_cast<uint8_t>(high) & 0xF) << 4));
}

/// Runs `work(begin, end)` over [0, count) in contiguous ranges, on every
/// core this process may use when the job is large (`elements` in all),
/// else on the calling thread. The ranges are disjoint, so the result does
/// not depend on how many there are.
void forRanges(int64_t count, int64_t elements,
               const std::function<void(int64_t, int64_t)> &work) {
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
#ifdef CPU_COUNT
  // Only the cores this process may run on (affinity, cgroup cpusets).
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
    workers = std::min<unsigned>(workers, std::max(1, CPU_COUNT(&allowed)));
#endif
  if (elements < (int64_t(1) << 20) || workers == 1 || count < 2) {
    work(0, count);
    return;
  }
  workers = std::min<unsigned>(workers, static_cast<unsigned>(count));
  std::vector<std::thread> threads;
  for (unsigned w = 1; w < workers; ++w) {
    int64_t begin = count * w / workers, end = count * (w + 1) / workers;
    try {
      threads.emplace_back(work, begin, end);
    } catch (...) {
      // No thread: do that range here.
      work(begin, end);
    }
  }
  work(0, count / workers);
  for (std::thread &t : threads)
    t.join();
}

/// packPanelRange over every panel, large matrices on all cores.
template <typename T>
void packPanels(const T *src, const float *scale, int64_t n, int64_t k,
                int64_t n0, T *dst) {
  forRanges((n + n0 - 1) / n0, n * k, [&](int64_t begin, int64_t end) {
    packPanelRange(src, scale, n, k, n0, dst, begin, end);
  });
}

/// True if the file's `dtype` is the model's `type`.
bool sameType(weights::DType dtype, ElementType type) {
  switch (dtype) {
  case weights::DType::F32:
    return type == ElementType::F32;
  case weights::DType::F16:
    return type == ElementType::F16;
  case weights::DType::BF16:
    return type == ElementType::BF16;
  case weights::DType::I8:
  case weights::DType::U8:
    return false; // Pre-quantized: only the i8 and i4 weights read them.
  }
  return false;
}

/// Whether the model stores `type` in 16 bits of float (widened by the
/// kernels in registers).
bool isNarrowFloat(ElementType type) {
  return type == ElementType::BF16 || type == ElementType::F16;
}

/// The safetensors dtype of a float element type.
weights::DType toDType(ElementType type) {
  return type == ElementType::BF16  ? weights::DType::BF16
         : type == ElementType::F16 ? weights::DType::F16
                                    : weights::DType::F32;
}

/// `count` f32 values at `src` rounded to the 16-bit float `type` at `dst`,
/// on all cores when there are many.
void narrowFromF32(ElementType type, const float *src, void *dst,
                   size_t count) {
  auto *out = static_cast<uint16_t *>(dst);
  forRanges(static_cast<int64_t>(count), static_cast<int64_t>(count),
            [&](int64_t begin, int64_t end) {
              weights::convertFromF32(toDType(type), src + begin, out + begin,
                                      static_cast<size_t>(end - begin));
            });
}

/// `tensor` (F32, F16 or BF16) as f32 values at `src`: its own bytes when
/// it is an aligned F32 tensor, else converted into `wide`.
Status viewAsF32(const weights::TensorInfo &tensor, const std::string &found,
                 Buffer &wide, const float *&src) {
  size_t count = static_cast<size_t>(tensor.numElements());
  if (tensor.dtype == weights::DType::F32 &&
      reinterpret_cast<uintptr_t>(tensor.data) % alignof(float) == 0) {
    src = static_cast<const float *>(tensor.data);
    return Status::ok();
  }
  if (Status s = Buffer::allocate(count * sizeof(float), found, wide);
      !s.isOk())
    return s;
  if (tensor.dtype == weights::DType::F32)
    std::memcpy(wide.data(), tensor.data, count * sizeof(float));
  else
    weights::convertToF32(tensor.dtype, tensor.data,
                          static_cast<float *>(wide.data()), count);
  src = static_cast<const float *>(wide.data());
  return Status::ok();
}

} // namespace

Status Model::load(const std::string &path, std::shared_ptr<Model> &out) {
  out.reset();
  std::unique_ptr<Library> library;
  if (Status status = Library::open(path, library); !status.isOk())
    return status;
  const auto *text =
      static_cast<const char *>(library->symbol(COIL_MODEL_METADATA_SYMBOL));
  if (!text)
    return Status::error(COIL_BAD_MODEL,
                         path + ": not a compiled Coil model (it does not "
                                "export coil_model_metadata)");

  std::shared_ptr<Model> model(new Model());
  model->identity =
      coil_abi_checksum(COIL_MODEL_CHECKSUM_SEED, text, std::strlen(text));
  if (Status status = parseMetadata(text, model->meta); !status.isOk())
    return Status::error(COIL_BAD_MODEL, path + ": " + status.message());
  std::vector<std::string> missing =
      missingCpuFeatures(model->meta.target.features);
  if (!missing.empty()) {
    std::string names;
    for (const std::string &name : missing)
      names += (names.empty() ? "" : ", ") + name;
    return Status::error(COIL_BAD_MODEL,
                         path + ": compiled for " + model->meta.target.cpu +
                             " (" + model->meta.target.isa +
                             "), but this CPU lacks " + names +
                             " (recompile it for this machine, e.g. coilc "
                             "--target-cpu=host)");
  }
  for (size_t i = 0; i < model->meta.kernels.size(); ++i) {
    const KernelSpec &kernel = model->meta.kernels[i];
    void *address = library->symbol(kernel.symbol);
    if (!address)
      return Status::error(COIL_BAD_MODEL,
                           path + ": metadata: kernels[" + std::to_string(i) +
                               "].symbol: the library does not export \"" +
                               kernel.symbol + "\" (kernel \"" + kernel.name +
                               "\")");
    model->kernels.push_back(reinterpret_cast<KernelFn>(address));
  }
  model->library = std::move(library);
  out = std::move(model);
  return Status::ok();
}

Status
Model::bindWeights(std::shared_ptr<const weights::WeightFileSet> weights) {
  if (weightSet)
    return Status::error(COIL_FAILED_PRECONDITION,
                         library->path() +
                             ": weights are already bound to this model");
  auto bindStart = std::chrono::steady_clock::now();
  BindStats bound;
  std::vector<void *> pointers;
  std::vector<Buffer> owned;
  // Int8 matrices (rows) and their scales, by tensor name.
  struct Quantized {
    /// One value per byte, and the scales ([N] or [N, K / 32]).
    Buffer values, scales;
    bool int4 = false;
  };
  std::map<std::string, Quantized> quantized;
  std::set<std::string_view> used;
  for (const WeightSpec &spec : meta.weights) {
    std::string expected = std::string(elementTypeName(spec.type)) + " " +
                           weights::formatShape(spec.shape);
    const weights::TensorInfo *tensor = weights->find(spec.name);
    if (!tensor)
      return Status::error(COIL_BAD_WEIGHTS, "weight \"" + spec.name + "\" (" +
                                                 expected + ") of " +
                                                 library->path() +
                                                 " is not in the weight files");
    used.insert(tensor->name);
    std::string found = "weight \"" + spec.name + "\" in " + tensor->file;
    // A quantized matrix and its scales are both made from the stored
    // float matrix, quantized once (int8 per row, int4 per group of 32),
    // or read from a pre-quantized one and its scales.
    if (spec.type == ElementType::I8 || spec.type == ElementType::I4 ||
        spec.scalesPart) {
      bool int4 = spec.scalesPart ? spec.shape.size() == 2
                                  : spec.type == ElementType::I4;
      const char *format = int4 ? "int4" : "int8";
      weights::PreQuantized pre;
      bool preQuantized = weights::isPreQuantized(*tensor);
      if (preQuantized) {
        if (weights::Status s =
                weights::findPreQuantized(*weights, *tensor, pre);
            !s)
          return Status::error(COIL_BAD_WEIGHTS, s.message());
        if (pre.int4 != int4)
          return Status::error(COIL_BAD_WEIGHTS,
                               found + " is stored quantized to " +
                                   (pre.int4 ? "int4" : "int8") +
                                   ", but the model reads it " + format +
                                   " (compile the model with --weight-dtype=" +
                                   (pre.int4 ? "int4" : "int8") +
                                   ", or bind the float checkpoint)");
        used.insert(pre.scales->name);
      }
      // The matrix's own extents: a packed int4 tensor holds two per byte.
      std::vector<int64_t> matrix =
          preQuantized ? std::vector<int64_t>{pre.rows, pre.cols}
                       : tensor->shape;
      bool fits = matrix.size() == 2 &&
                  (spec.scalesPart
                       ? matrix[0] == spec.shape[0] &&
                             (!int4 || (matrix[1] % weights::kInt4Group == 0 &&
                                        spec.shape[1] ==
                                            matrix[1] / weights::kInt4Group))
                       : matrix == spec.shape);
      if (!fits)
        return Status::error(
            COIL_BAD_WEIGHTS,
            found + " has shape " + weights::formatShape(matrix) +
                (preQuantized ? std::string(" (stored as ") + format + ")"
                              : "") +
                " but the model reads " +
                (spec.scalesPart ? "scales " + weights::formatShape(spec.shape)
                                 : weights::formatShape(spec.shape)) +
                " of it quantized to " + format);
      auto [entry, fresh] = quantized.try_emplace(spec.name);
      Quantized &qz = entry->second;
      int64_t rows = matrix[0], cols = matrix[1];
      int64_t groups = int4 ? cols / weights::kInt4Group : 1;
      if (fresh) {
        qz.int4 = int4;
        if (Status s = Buffer::allocate(static_cast<size_t>(rows * cols),
                                        found + " (quantized)", qz.values);
            !s.isOk())
          return s;
        if (Status s = Buffer::allocate(static_cast<size_t>(rows * groups) *
                                            sizeof(float),
                                        found + " (scales)", qz.scales);
            !s.isOk())
          return s;
        auto *q = static_cast<int8_t *>(qz.values.data());
        auto *scale = static_cast<float *>(qz.scales.data());
        if (preQuantized) {
          forRanges(rows, rows * cols, [&](int64_t begin, int64_t end) {
            weights::unpackPreQuantized(pre, begin, end, q, scale);
          });
        } else {
          const float *src = nullptr;
          Buffer wide;
          if (Status s = viewAsF32(*tensor, found, wide, src); !s.isOk())
            return s;
          // Rows are quantized on their own: in ranges, on all cores; the
          // first bad row of any range is reported.
          weights::FirstBadRow bad;
          forRanges(rows, rows * cols, [&](int64_t begin, int64_t end) {
            weights::quantizeRowRange(int4, src, begin, end, cols, q, scale,
                                      bad);
          });
          if (bad.get() >= 0)
            return Status::error(COIL_BAD_WEIGHTS,
                                 found + " holds a NaN or an infinity in row " +
                                     std::to_string(bad.get()) + ", which " +
                                     format + " cannot represent");
        }
      } else if (qz.int4 != int4) {
        return Status::error(COIL_BAD_WEIGHTS,
                             found + ": the model reads it both as int8 and "
                                     "as int4");
      }
      auto packStart = std::chrono::steady_clock::now();
      std::vector<int64_t> storage = spec.storageShape();
      size_t stored = 1;
      for (int64_t extent : storage)
        stored *= static_cast<size_t>(extent);
      const auto *q = static_cast<const int8_t *>(qz.values.data());
      const auto *scale = static_cast<const float *>(qz.scales.data());
      if (!spec.panelWidth && (spec.scalesPart || !int4)) {
        // Rows as quantized: int8 values, or scales.
        pointers.push_back(spec.scalesPart ? qz.scales.data()
                                           : qz.values.data());
        continue;
      }
      Buffer packed;
      size_t bytes = spec.scalesPart ? stored * sizeof(float) : stored;
      if (Status s = Buffer::allocateForOverwrite(
              bytes, found + " (" + format + ", as the kernels read it)",
              packed);
          !s.isOk())
        return s;
      if (spec.scalesPart) {
        // An int4 linear's group scales, in the panels of its matrix.
        packPanels(scale, nullptr, rows, groups, spec.panelWidth,
                   static_cast<float *>(packed.data()));
      } else if (!spec.panelWidth) {
        // Int4 rows: elements 2i and 2i + 1 in the low and high nibble of
        // byte i.
        weights::packInt4(q, 2 * stored, static_cast<uint8_t *>(packed.data()));
      } else if (!int4) {
        packPanels(q, nullptr, rows, cols, spec.panelWidth,
                   static_cast<int8_t *>(packed.data()));
      } else {
        // Int4 panels: per k, feature j (j < n0 / 2) in the low nibble of
        // byte j and feature j + n0 / 2 in its high nibble.
        int64_t n0 = spec.panelWidth, half = n0 / 2;
        std::vector<int64_t> wide{storage[0], storage[1], n0};
        Buffer bytesPerValue;
        if (Status s = Buffer::allocateForOverwrite(
                static_cast<size_t>(wide[0] * wide[1] * wide[2]),
                found + " (int4 panels)", bytesPerValue);
            !s.isOk())
          return s;
        auto *panels = static_cast<int8_t *>(bytesPerValue.data());
        packPanels(q, nullptr, rows, cols, n0, panels);
        auto *dst = static_cast<uint8_t *>(packed.data());
        for (int64_t line = 0; line < wide[0] * wide[1]; ++line)
          for (int64_t j = 0; j < half; ++j)
            dst[line * half + j] =
                nibbles(panels[line * n0 + j], panels[line * n0 + half + j]);
      }
      pointers.push_back(packed.data());
      owned.push_back(std::move(packed));
      if (spec.panelWidth) {
        bound.packedWeights += 1;
        bound.packedBytes += static_cast<int64_t>(bytes);
      }
      bound.packSeconds += secondsSince(packStart);
      continue;
    }
    if (tensor->shape != spec.shape)
      return Status::error(COIL_BAD_WEIGHTS,
                           found + " has shape " +
                               weights::formatShape(tensor->shape) +
                               " but the model expects " + expected);
    size_t count = static_cast<size_t>(tensor->numElements());
    if (weights::countNonFinite(tensor->dtype, tensor->data, count) > 0 &&
        bound.nonfiniteWeights++ == 0)
      bound.firstNonfinite = spec.name;
    // A float weight takes any float tensor: F16 and BF16 widen exactly
    // to f32, and the model's bf16 and f16 weights (the matrices
    // --coil-weight-dtype narrowed) are rounded to nearest even.
    bool convertible =
        weights::isFloat(tensor->dtype) &&
        (spec.type == ElementType::F32 || isNarrowFloat(spec.type));
    if (!sameType(tensor->dtype, spec.type) && !convertible)
      return Status::error(
          COIL_BAD_WEIGHTS,
          found + " has dtype " + weights::dtypeName(tensor->dtype) +
              " but the model expects " + expected +
              (weights::isPreQuantized(*tensor)
                   ? std::string(" (it is stored quantized: compile the "
                                 "model with --weight-dtype=") +
                         (tensor->dtype == weights::DType::U8 ? "int4"
                                                              : "int8") +
                         ")"
                   : std::string()));
    if (spec.panelWidth) {
      if (spec.type != ElementType::F32 && !isNarrowFloat(spec.type))
        return Status::error(COIL_BAD_WEIGHTS,
                             found +
                                 ": the model reads it packed in panels "
                                 "as " +
                                 expected +
                                 ", which only f32, bf16 and f16 "
                                 "support");
      auto packStart = std::chrono::steady_clock::now();
      const float *src = nullptr;
      Buffer wide;
      if (Status s = viewAsF32(*tensor, found, wide, src); !s.isOk())
        return s;
      // The vector the columns are scaled by (a folded norm's weight).
      std::vector<float> scale;
      if (!spec.panelScale.empty()) {
        const weights::TensorInfo *s = weights->find(spec.panelScale);
        std::string of = "weight \"" + spec.panelScale +
                         "\", the scale of the panels of \"" + spec.name +
                         "\"";
        if (!s)
          return Status::error(COIL_BAD_WEIGHTS,
                               of + ", is not in the weight files");
        if (s->shape != std::vector<int64_t>{spec.shape[1]})
          return Status::error(
              COIL_BAD_WEIGHTS,
              of + ", has shape " + weights::formatShape(s->shape) +
                  " but the panels need " +
                  weights::formatShape({spec.shape[1]}));
        if (!weights::isFloat(s->dtype))
          return Status::error(COIL_BAD_WEIGHTS,
                               of + ", has dtype " +
                                   weights::dtypeName(s->dtype) +
                                   " (expected F32, F16 or BF16)");
        used.insert(s->name);
        scale.resize(static_cast<size_t>(spec.shape[1]));
        if (s->dtype == weights::DType::F32)
          std::memcpy(scale.data(), s->data, scale.size() * sizeof(float));
        else
          weights::convertToF32(s->dtype, s->data, scale.data(),
                                scale.size());
      }
      std::vector<int64_t> storage = spec.storageShape();
      size_t packedCount =
          static_cast<size_t>(storage[0] * storage[1] * storage[2]);
      Buffer packed;
      // Packing writes every byte (the padding too), page by page on the
      // thread that packs it.
      if (Status s = Buffer::allocateForOverwrite(packedCount * sizeof(float),
                                                  found + " (packed in panels)",
                                                  packed);
          !s.isOk())
        return s;
      packPanels(src, scale.empty() ? nullptr : scale.data(), spec.shape[0],
                 spec.shape[1], spec.panelWidth,
                 static_cast<float *>(packed.data()));
      if (spec.type != ElementType::F32) {
        Buffer narrow;
        if (Status s = Buffer::allocateForOverwrite(
                packedCount * elementSize(spec.type),
                found + " (packed in panels)", narrow);
            !s.isOk())
          return s;
        narrowFromF32(spec.type, static_cast<const float *>(packed.data()),
                      narrow.data(), packedCount);
        packed = std::move(narrow);
      }
      pointers.push_back(packed.data());
      owned.push_back(std::move(packed));
      bound.packedWeights += 1;
      bound.packedBytes +=
          static_cast<int64_t>(packedCount * elementSize(spec.type));
      bound.packSeconds += secondsSince(packStart);
      continue;
    }
    if (sameType(tensor->dtype, spec.type)) {
      size_t alignment = elementSize(spec.type);
      if (reinterpret_cast<uintptr_t>(tensor->data) % alignment == 0) {
        pointers.push_back(const_cast<void *>(tensor->data));
        continue;
      }
      // Kernels may assume element alignment; the format does not promise it.
      Buffer copy;
      if (Status s = Buffer::allocate(tensor->numBytes, found, copy); !s.isOk())
        return s;
      if (tensor->numBytes)
        std::memcpy(copy.data(), tensor->data, tensor->numBytes);
      pointers.push_back(copy.data());
      owned.push_back(std::move(copy));
      continue;
    }
    const float *src = nullptr;
    Buffer wide;
    if (Status s = viewAsF32(*tensor, found, wide, src); !s.isOk())
      return s;
    if (spec.type != ElementType::F32) {
      Buffer narrow;
      if (Status s =
              Buffer::allocate(count * elementSize(spec.type), found, narrow);
          !s.isOk())
        return s;
      narrowFromF32(spec.type, src, narrow.data(), count);
      wide = std::move(narrow);
    } else if (!wide.data()) {
      // An f32 tensor that was only viewed: kept as a copy (aligned).
      if (Status s = Buffer::allocate(count * sizeof(float), found, wide);
          !s.isOk())
        return s;
      std::memcpy(wide.data(), src, count * sizeof(float));
    }
    pointers.push_back(wide.data());
    owned.push_back(std::move(wide));
  }
  for (auto &[name, qz] : quantized) {
    owned.push_back(std::move(qz.values));
    owned.push_back(std::move(qz.scales));
  }
  for (const weights::TensorInfo &tensor : weights->tensors())
    if (!used.count(tensor.name))
      return Status::error(COIL_BAD_WEIGHTS,
                           "tensor \"" + tensor.name + "\" in " + tensor.file +
                               " is not a weight of " + library->path() +
                               " (every tensor of the files must be used)");

  // The weights' share of the fingerprint: names and sampled bytes.
  uint64_t withWeights = identity;
  for (size_t i = 0; i < meta.weights.size(); ++i) {
    const weights::TensorInfo *tensor = weights->find(meta.weights[i].name);
    withWeights = coil_abi_checksum(withWeights, tensor->name.data(),
                                    tensor->name.size());
    const auto *bytes = static_cast<const unsigned char *>(tensor->data);
    constexpr size_t window = 64;
    size_t size = tensor->numBytes;
    for (size_t start :
         {size_t(0), size / 3, 2 * size / 3, size > window ? size - window : 0})
      withWeights = coil_abi_checksum(withWeights, bytes + start,
                                      std::min(window, size - start));
  }
  identity = withWeights;
  weightSet = std::move(weights);
  weightPointers = std::move(pointers);
  ownedWeights = std::move(owned);
  bound.bindSeconds = secondsSince(bindStart);
  stats = bound;
  return Status::ok();
}

} // namespace coil::runtime
