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

#include <cstring>
#include <set>
#include <string_view>

namespace coil::runtime {

namespace {

/// True if the file's `dtype` is the model's `type`.
bool sameType(weights::DType dtype, ElementType type) {
  switch (dtype) {
  case weights::DType::F32:
    return type == ElementType::F32;
  case weights::DType::F16:
    return type == ElementType::F16;
  case weights::DType::BF16:
    return type == ElementType::BF16;
  }
  return false;
}

} // namespace

Status Model::load(const std::string &path, std::shared_ptr<Model> &out) {
  out.reset();
  std::unique_ptr<Library> library;
  if (Status status = Library::open(path, library); !status.isOk())
    return status;
  const auto *text =
      static_cast<const char *>(library->symbol("coil_model_metadata"));
  if (!text)
    return Status::error(COIL_BAD_MODEL,
                         path + ": not a compiled Coil model (it does not "
                                "export coil_model_metadata)");

  std::shared_ptr<Model> model(new Model());
  if (Status status = parseMetadata(text, model->meta); !status.isOk())
    return Status::error(COIL_BAD_MODEL, path + ": " + status.message());
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
  std::vector<void *> pointers;
  std::vector<Buffer> owned;
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
    if (tensor->shape != spec.shape)
      return Status::error(COIL_BAD_WEIGHTS,
                           found + " has shape " +
                               weights::formatShape(tensor->shape) +
                               " but the model expects " + expected);
    size_t count = static_cast<size_t>(tensor->numElements());
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
    bool widens = spec.type == ElementType::F32 &&
                  (tensor->dtype == weights::DType::F16 ||
                   tensor->dtype == weights::DType::BF16);
    if (!widens)
      return Status::error(COIL_BAD_WEIGHTS,
                           found + " has dtype " +
                               weights::dtypeName(tensor->dtype) +
                               " but the model expects " + expected +
                               " (only F16 and BF16 widen, to f32)");
    Buffer wide;
    if (Status s = Buffer::allocate(count * sizeof(float), found, wide);
        !s.isOk())
      return s;
    weights::convertToF32(tensor->dtype, tensor->data,
                          static_cast<float *>(wide.data()), count);
    pointers.push_back(wide.data());
    owned.push_back(std::move(wide));
  }
  for (const weights::TensorInfo &tensor : weights->tensors())
    if (!used.count(tensor.name))
      return Status::error(COIL_BAD_WEIGHTS,
                           "tensor \"" + tensor.name + "\" in " + tensor.file +
                               " is not a weight of " + library->path() +
                               " (every tensor of the files must be used)");

  weightSet = std::move(weights);
  weightPointers = std::move(pointers);
  ownedWeights = std::move(owned);
  return Status::ok();
}

} // namespace coil::runtime
