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

# shmclient.pc holds absolute paths under the prefix that install actually uses (that of
# `cmake --install --prefix P`, or the configured one), so it is written at install time
# (configure_pc.cmake), as the systemd units are.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(shmclient_pc_destination "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(shmclient_pc_destination "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
install(CODE "
  string(SHA1 shmclient_pc_tag \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(SHMCLIENT_PC_TEMPLATE [[${PROJECT_SOURCE_DIR}/cmake/shmclient.pc.in]])
  set(SHMCLIENT_PC_LIBDIR_SETTING [[${CMAKE_INSTALL_LIBDIR}]])
  set(SHMCLIENT_PC_INCLUDEDIR_SETTING [[${CMAKE_INSTALL_INCLUDEDIR}]])
  set(SHMCLIENT_PC_VERSION [[${PROJECT_VERSION}]])
  set(SHMCLIENT_PC_OUTPUT \"${PROJECT_BINARY_DIR}/pkgconfig-\${shmclient_pc_tag}/shmclient.pc\")
  include([[${PROJECT_SOURCE_DIR}/cmake/configure_pc.cmake]])
  file(INSTALL DESTINATION \"${shmclient_pc_destination}\" TYPE FILE
       FILES \"\${SHMCLIENT_PC_OUTPUT}\")
")
