//===- CoilIRFuzzer.cpp - fuzz-coil-ir --------------------------*- C++ -*-===//
//
// One input is one coil IR file, parsed and verified as coil-opt and coilc
// read it, with every dialect Coil registers. Malformed IR must end in
// diagnostics, never a crash; diagnostics are dropped, not printed.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <memory>
#include <string>

namespace {

/// A context with Coil's dialects that drops every diagnostic.
std::unique_ptr<mlir::MLIRContext> createContext() {
  mlir::DialectRegistry registry;
  mlir::coil::registerAllDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  context->getDiagEngine().registerHandler(
      [](mlir::Diagnostic &) { return mlir::success(); });
  return context;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A context keeps every type and attribute it ever uniqued, so it is
  // replaced now and then to keep the fuzzer's memory flat.
  constexpr int inputsPerContext = 1000;
  static std::unique_ptr<mlir::MLIRContext> context;
  static int inputs = 0;
  if (!context || ++inputs % inputsPerContext == 0)
    context = createContext();
  // MLIR's lexer expects the NUL that file buffers end with, as every tool
  // reading a file provides; a std::string holds one past its end.
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
  return 0;
}
