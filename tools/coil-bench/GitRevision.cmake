# Writes GitRevision.h (COIL_GIT_REVISION, the checkout's short revision and
# "+dirty" for uncommitted changes) into OUTPUT_DIR, touching it only when the
# revision changed. Run at every build by the coil-bench-revision target.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE revision
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision unknown)
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes)
    string(APPEND revision "+dirty")
  endif()
endif()
set(text "#define COIL_GIT_REVISION \"${revision}\"\n")
set(header "${OUTPUT_DIR}/GitRevision.h")
if(EXISTS "${header}")
  file(READ "${header}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${header}" "${text}")
endif()
