# Writes shmd.socket and shmd.service for the prefix an install actually uses. Run at install
# time (from systemd/CMakeLists.txt's install(CODE)), where CMAKE_INSTALL_PREFIX is the prefix of
# `cmake --install --prefix`, or cpack's, rather than the one given at configure time.
# In:  SHMD_UNIT_TEMPLATES (dir of the .in files), SHMD_UNIT_BINDIR, SHMD_UNIT_DOCDIR (as
#      GNUInstallDirs has them, relative or absolute), SHMD_FD_STORE_MAX, SHMD_UNIT_OUTPUT (a
#      scratch dir)
# Out: SHMD_UNIT_FILES, the two generated files
# Every other name starts with shmd_: this runs inside cmake_install.cmake's scope.

foreach(shmd_dir IN ITEMS BINDIR DOCDIR)
  if(IS_ABSOLUTE "${SHMD_UNIT_${shmd_dir}}")
    set(shmd_${shmd_dir} "${SHMD_UNIT_${shmd_dir}}")
  else()
    set(shmd_${shmd_dir} "${CMAKE_INSTALL_PREFIX}/${SHMD_UNIT_${shmd_dir}}")
  endif()
endforeach()

# systemd takes any absolute path of printable ASCII for these two lines except one with quotes or
# backslashes ("Executable name contains special characters", "Invalid URL").
string(REGEX REPLACE "[ -~]" "" shmd_unprintable "${shmd_BINDIR}${shmd_DOCDIR}")
if(NOT shmd_unprintable STREQUAL "" OR "${shmd_BINDIR}${shmd_DOCDIR}" MATCHES "[\"'\\]")
  message(WARNING "systemd cannot use the units for the prefix '${CMAKE_INSTALL_PREFIX}': "
                  "it has quotes, backslashes, control or non-ASCII characters")
endif()

# ExecStart=: `%` is doubled (systemd expands specifiers there), and a path with spaces is
# written in double quotes (systemd.service(5), "Command lines").
set(shmd_exec "${shmd_BINDIR}/shmd")
string(REPLACE "%" "%%" shmd_exec "${shmd_exec}")
if(shmd_exec MATCHES " ")
  set(shmd_exec "\"${shmd_exec}\"")
endif()
set(SHMD_UNIT_EXEC "${shmd_exec}")

# Documentation= is a space-separated list of URIs: percent-encode what a file: URI cannot hold
# as is, then double the `%`s for the specifier expansion.
set(shmd_doc "${shmd_DOCDIR}/install.md")
string(REPLACE "%" "%25" shmd_doc "${shmd_doc}")
string(REPLACE " " "%20" shmd_doc "${shmd_doc}")
string(REPLACE "#" "%23" shmd_doc "${shmd_doc}")
string(REPLACE "?" "%3F" shmd_doc "${shmd_doc}")
string(REPLACE "%" "%%" shmd_doc "${shmd_doc}")
set(SHMD_UNIT_DOC_URL "file:${shmd_doc}")

set(SHMD_UNIT_FILES "")
foreach(shmd_unit IN ITEMS shmd.socket shmd.service)
  configure_file("${SHMD_UNIT_TEMPLATES}/${shmd_unit}.in" "${SHMD_UNIT_OUTPUT}/${shmd_unit}" @ONLY)
  list(APPEND SHMD_UNIT_FILES "${SHMD_UNIT_OUTPUT}/${shmd_unit}")
endforeach()
