//===- Status.h - Errors inside the runtime and at the C API ----*- C++ -*-===//
//
// The runtime's internal functions report failure with a Status value (a
// coil_status_code_t and a message); the C API turns it into the heap-allocated
// coil_status_t its callers own. Turning a Status into a coil_status_t never
// throws: if the allocation fails, a static out-of-memory status is returned,
// which coil_status_free recognises and leaves alone.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_STATUS_H
#define COIL_RUNTIME_STATUS_H

#include "coil/coil.h"

#include <string>
#include <utility>

/// The C API's opaque status: a code and a message.
struct coil_status_t {
  coil_status_code_t code;
  std::string message;
};

namespace coil::runtime {

/// The outcome of an internal operation: success, or a code and a message
/// meant for people.
class [[nodiscard]] Status {
public:
  /// A successful outcome.
  static Status ok() { return Status(); }

  /// A failure with `code` (not COIL_OK) described by `message`.
  static Status error(coil_status_code_t code, std::string message) {
    return Status(code == COIL_OK ? COIL_INTERNAL : code, std::move(message));
  }

  /// True on success.
  bool isOk() const { return statusCode == COIL_OK; }

  /// The code; COIL_OK on success.
  coil_status_code_t code() const { return statusCode; }

  /// The message; empty on success.
  const std::string &message() const { return msg; }

  /// Moves the message out, leaving this status's message empty.
  std::string takeMessage() { return std::move(msg); }

private:
  Status() = default;
  Status(coil_status_code_t code, std::string message)
      : statusCode(code), msg(std::move(message)) {}

  coil_status_code_t statusCode = COIL_OK;
  std::string msg;
};

/// The C status for `status`: NULL on success, otherwise a new coil_status_t
/// the caller frees with coil_status_free. Never throws.
coil_status_t *toCStatus(Status status) noexcept;

/// A new C status with `code` and `message`. Never throws.
coil_status_t *makeCStatus(coil_status_code_t code,
                           const char *message) noexcept;

/// The static status returned when allocating a status fails;
/// coil_status_free ignores it.
coil_status_t *outOfMemoryStatus() noexcept;

} // namespace coil::runtime

#endif // COIL_RUNTIME_STATUS_H
