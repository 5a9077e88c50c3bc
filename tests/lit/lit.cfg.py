# -*- Python -*-
# lit configuration of Coil's FileCheck tests.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "COIL"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.coil_obj_root, "tests", "lit")

config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
config.substitutions.append(("%coil_src_root", config.coil_src_root))
config.substitutions.append(("%coil_obj_root", config.coil_obj_root))
config.substitutions.append(("%python", config.python_executable))

# Models compiled by coil-run are cached inside the build tree, not in ~.
coil_cache_dir = os.path.join(config.coil_obj_root, "tests", "lit", "coil-cache")
config.environment["COIL_CACHE_DIR"] = coil_cache_dir
config.substitutions.append(("%coil_cache_dir", coil_cache_dir))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.coil_tools_dir, config.llvm_tools_dir]
tools = ["coil-opt", "coil-import", "coil-prune", "coil-quantize", "coil-run", "coilc", "coil-bench", "coil-tokenize",
         "coil-generate", "coil-serve"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
