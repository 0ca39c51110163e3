# Makes an installed libshmclient findable: the CMake package `shmclient` (find_package, targets
# shmclient::shmclient and shmclient::shmclient_static) and `shmclient.pc` for pkg-config.
# Included from client/CMakeLists.txt after the targets are installed into the shmclientTargets export set.
include(CMakePackageConfigHelpers)

set(SHMCLIENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/shmclient)

install(EXPORT shmclientTargets
  NAMESPACE shmclient::
  FILE shmclientTargets.cmake
  DESTINATION ${SHMCLIENT_CMAKE_DIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/shmclientConfig.cmake.in
  ${PROJECT_BINARY_DIR}/shmclientConfig.cmake
  INSTALL_DESTINATION ${SHMCLIENT_CMAKE_DIR})
# 0.x releases keep SOVERSION 0, so any 0.y satisfies a request for 0.x with x <= y.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/shmclientConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/shmclientConfig.cmake
  ${PROJECT_BINARY_DIR}/shmclientConfigVersion.cmake
  DESTINATION ${SHMCLIENT_CMAKE_DIR})

# The .pc file finds its prefix from its own location (${pcfiledir}), so the installed tree can
# be moved or installed with `cmake --install --prefix` without rewriting it.
file(RELATIVE_PATH SHMCLIENT_PC_TO_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" SHMCLIENT_PC_TO_PREFIX "${SHMCLIENT_PC_TO_PREFIX}")
file(RELATIVE_PATH SHMCLIENT_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH SHMCLIENT_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/shmclient.pc.in ${PROJECT_BINARY_DIR}/shmclient.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/shmclient.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
