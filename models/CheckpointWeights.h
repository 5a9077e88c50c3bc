//===- CheckpointWeights.h - A config checked against its weights -*- C++
//-*-===//
//
// A checkpoint's config.json and its safetensors files must describe the
// same model. checkCheckpointWeights compares the parameters the config
// implies (weightSpecs: names and shapes, no graph) with the tensors of the
// files before anything is built, so a config that claims more layers or
// other widths than its weights is refused in time proportional to the files,
// naming the tensor and the config keys behind it.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_CHECKPOINTWEIGHTS_H
#define COIL_MODELS_CHECKPOINTWEIGHTS_H

#include "models/ModelConfig.h"

namespace coil::weights {
class WeightFileSet;
} // namespace coil::weights

namespace mlir::coil::models {

/// Succeeds when `files` holds exactly the parameters `config` implies, each
/// with the implied shape (any dtype the runtime reads). `weightsPath` names
/// the files in the message.
llvm::Error checkCheckpointWeights(const ModelConfig &config,
                                   const ::coil::weights::WeightFileSet &files,
                                   llvm::StringRef weightsPath);

} // namespace mlir::coil::models

#endif // COIL_MODELS_CHECKPOINTWEIGHTS_H
