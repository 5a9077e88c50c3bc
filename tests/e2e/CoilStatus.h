//===- CoilStatus.h - C API statuses in GoogleTest assertions ----*- C++ -*-===//

#ifndef COIL_TESTS_E2E_COILSTATUS_H
#define COIL_TESTS_E2E_COILSTATUS_H

#include "coil/coil.h"

#include <gtest/gtest.h>

#include <string>

/// Deletes the status and fails the test with its message when not OK.
#define ASSERT_COIL_OK(expr)                                                   \
  do {                                                                         \
    coil_status_t *status_ = (expr);                                           \
    std::string message_ = coil_status_message(status_);                       \
    coil_status_code_t code_ = coil_status_code(status_);                      \
    coil_status_free(status_);                                                 \
    ASSERT_EQ(code_, COIL_OK) << message_;                                     \
  } while (0)

#endif // COIL_TESTS_E2E_COILSTATUS_H
