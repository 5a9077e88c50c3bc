//===- Status.cpp - Errors inside the runtime and at the C API --*- C++ -*-===//
//
// Conversion of internal Status values to the C API's coil_status_t, and the
// C status accessors. A status is allocated with the non-throwing new; when
// that fails the caller still gets a meaningful error (a static one).
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Status.h"

#include <new>

namespace coil::runtime {

namespace {

/// The status handed out when allocating another one fails. Its message is
/// set before main runs and never changes.
coil_status_t oomStatus{COIL_OUT_OF_MEMORY, "out of memory"};

} // namespace

coil_status_t *outOfMemoryStatus() noexcept { return &oomStatus; }

coil_status_t *toCStatus(Status status) noexcept {
  if (status.isOk())
    return nullptr;
  auto *result = new (std::nothrow) coil_status_t{status.code(), {}};
  if (!result)
    return outOfMemoryStatus();
  // Moving the message allocates nothing.
  result->message = status.takeMessage();
  return result;
}

coil_status_t *makeCStatus(coil_status_code_t code,
                           const char *message) noexcept {
  try {
    return toCStatus(Status::error(code, message));
  } catch (...) {
    return outOfMemoryStatus();
  }
}

} // namespace coil::runtime

using namespace coil::runtime;

extern "C" {

coil_status_code_t coil_status_code(const coil_status_t *status) {
  return status ? status->code : COIL_OK;
}

const char *coil_status_message(const coil_status_t *status) {
  return status ? status->message.c_str() : "ok";
}

void coil_status_free(coil_status_t *status) {
  if (status != outOfMemoryStatus())
    delete status;
}

} // extern "C"
