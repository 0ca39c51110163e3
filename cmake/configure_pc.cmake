# Writes shmclient.pc for the prefix an install actually uses. Run at install time (from
# ShmclientPackage.cmake's install(CODE)), where CMAKE_INSTALL_PREFIX is the prefix of
# `cmake --install --prefix` rather than the one given at configure time.
# In:  SHMCLIENT_PC_TEMPLATE, SHMCLIENT_PC_LIBDIR_SETTING and SHMCLIENT_PC_INCLUDEDIR_SETTING (as
#      GNUInstallDirs has them, relative or absolute), SHMCLIENT_PC_VERSION, SHMCLIENT_PC_OUTPUT
# Every other name starts with shmclient_: this runs inside cmake_install.cmake's scope.

# pkg-config splits values at spaces unless they are escaped with a backslash.
function(shmclient_pc_escape out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE " " "\\ " value "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

shmclient_pc_escape(SHMCLIENT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(shmclient_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${SHMCLIENT_PC_${shmclient_dir}_SETTING}")
    shmclient_pc_escape(SHMCLIENT_PC_${shmclient_dir} "${SHMCLIENT_PC_${shmclient_dir}_SETTING}")
  else()
    shmclient_pc_escape(shmclient_relative "${SHMCLIENT_PC_${shmclient_dir}_SETTING}")
    set(SHMCLIENT_PC_${shmclient_dir} "\${prefix}/${shmclient_relative}")
  endif()
endforeach()
set(PROJECT_VERSION "${SHMCLIENT_PC_VERSION}")
configure_file("${SHMCLIENT_PC_TEMPLATE}" "${SHMCLIENT_PC_OUTPUT}" @ONLY)
