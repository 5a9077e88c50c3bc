//===- CApiSupport.h - What the C API's files share -------------*- C++ -*-===//
//
// The handles behind coil/coil.h's opaque types and the helpers every C
// entry point uses: exceptions caught at the boundary, NULL arguments
// reported by name, C options turned into the runtime's own.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_CAPISUPPORT_H
#define COIL_RUNTIME_CAPISUPPORT_H

#include "coil/coil.h"

#include "runtime/src/Model.h"
#include "runtime/src/Session.h"
#include "runtime/src/Status.h"
#include "runtime/src/generate/Generate.h"
#include "runtime/src/generate/Sampler.h"
#include "runtime/src/tokenizer/Tokenizer.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

namespace coil::weights {
class WeightFileSet;
}

/// A reference to a model; sessions hold their own.
struct coil_model_t {
  std::shared_ptr<coil::runtime::Model> model;
};

/// A reference to a weight file set; bound models hold their own.
struct coil_weights_t {
  std::shared_ptr<const coil::weights::WeightFileSet> set;
};

/// A tokenizer.
struct coil_tokenizer_t {
  std::unique_ptr<coil::tokenizer::Tokenizer> tokenizer;
};

/// A text stream and the text its last call returned.
struct coil_text_stream_t {
  coil::tokenizer::TextStream stream;
  std::string text;
};

/// A sampler.
struct coil_sampler_t {
  coil::generate::Sampler sampler;
};

/// A session, and the last profile summary it returned.
struct coil_session_t {
  std::unique_ptr<coil::runtime::Session> session;
  mutable std::vector<coil_profile_entry_t> summary;
};

namespace coil::capi {

/// Runs `body` (returning a Status) and converts its outcome, catching every
/// exception.
template <typename Body> inline coil_status_t *guarded(Body &&body) noexcept {
  try {
    return runtime::toCStatus(body());
  } catch (const std::bad_alloc &) {
    return runtime::outOfMemoryStatus();
  } catch (const std::exception &error) {
    try {
      return runtime::toCStatus(runtime::Status::error(
          COIL_INTERNAL, std::string("internal error: ") + error.what()));
    } catch (...) {
      return runtime::outOfMemoryStatus();
    }
  } catch (...) {
    return runtime::makeCStatus(COIL_INTERNAL,
                                "internal error: unknown exception");
  }
}

/// The status for a NULL `name` argument.
inline runtime::Status nullArgument(const char *function, const char *name) {
  return runtime::Status::error(
      COIL_INVALID_ARGUMENT, std::string(function) + ": " + name + " is NULL");
}

/// The sampling parameters of `options`, or an error naming what is wrong.
runtime::Status samplingParams(const char *function,
                               const coil_sampling_options_t &options,
                               generate::SamplingParams &params);

/// The C value of `reason`.
coil_stop_reason_t cStopReason(generate::StopReason reason);

} // namespace coil::capi

#endif // COIL_RUNTIME_CAPISUPPORT_H
