//===- ToolOptions.h - The options a Coil tool shows in --help ---*- C++
//-*-===//
//
// LLVM's libraries register hundreds of command-line options of their own
// (back-end tuning, debugging switches) into every tool that links them.
// showOnlyOwnOptions puts a tool's options in its category and hides the
// others from --help; hidden options still work when given.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_TOOLOPTIONS_H
#define COIL_TOOLS_TOOLOPTIONS_H

#include "llvm/Support/CommandLine.h"

#include <initializer_list>

namespace coil::tools {

/// Files `own` under `category` and hides every other option but --help and
/// --version (and those of `alsoShown`) from --help.
inline void showOnlyOwnOptions(
    llvm::cl::OptionCategory &category,
    std::initializer_list<llvm::cl::Option *> own,
    std::initializer_list<const llvm::cl::OptionCategory *> alsoShown = {}) {
  for (llvm::cl::Option *option : own)
    option->addCategory(category);
  llvm::SmallVector<const llvm::cl::OptionCategory *> shown{&category};
  shown.append(alsoShown.begin(), alsoShown.end());
  llvm::cl::HideUnrelatedOptions(shown);
}

} // namespace coil::tools

#endif // COIL_TOOLS_TOOLOPTIONS_H
