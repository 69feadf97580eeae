# Writes OUT (biggan_version.h) from IN with the git commit of SOURCE_DIR, at every build, but
# touches OUT only when its text changes (so only version.cpp recompiles after a commit).
execute_process(COMMAND git describe --always --dirty --abbrev=12
                WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE BIGGAN_GIT_COMMIT
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR BIGGAN_GIT_COMMIT STREQUAL "")
  set(BIGGAN_GIT_COMMIT "unknown")
endif()
configure_file(${IN} ${OUT} @ONLY)
