# CPack: `cpack` in a build configured with -DCMAKE_INSTALL_PREFIX=/usr makes shmd_<version>_<arch>.deb
# holding everything `cmake --install` puts down (binaries, libshmclient, headers, CMake and
# pkg-config files, systemd units, the Python package in /usr/lib/python3/dist-packages).
# Dependencies come from dpkg-shlibdeps when it is installed.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shmd)
set(CPACK_PACKAGE_VENDOR shmd)
set(CPACK_PACKAGE_CONTACT "shmd maintainers <shmd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The units' ExecStart names the configured prefix, so the package installs to that same prefix.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${PROJECT_DESCRIPTION}
 shmd creates, names and reference-counts shared Value/Array segments (memfds) and hands
 them to clients over a Unix socket. Includes shmctl, libshmclient (shared and static, with
 headers, a CMake package and a pkg-config file), the Python package shmd, and systemd units
 for socket activation.")
# The postinst creates the shmd user with systemd-sysusers, or adduser without systemd.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
if(SHMD_PYTHON)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", ${SHMD_PYTHON_DEB_DEPENDS}")  # the Python package's _core
endif()
find_program(SHMD_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SHMD_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libprotobuf32, libspdlog1.10, libfmt9, libsystemd0")
endif()
# A shlibs file for libshmclient.so.0 (the ldconfig trigger is cmake/debian/triggers).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
if(IS_ABSOLUTE "${SHMD_SYSUSERS_DIR}")
  set(SHMD_SYSUSERS_FULL_PATH ${SHMD_SYSUSERS_DIR}/shmd.conf)
else()
  set(SHMD_SYSUSERS_FULL_PATH ${CMAKE_INSTALL_PREFIX}/${SHMD_SYSUSERS_DIR}/shmd.conf)
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/postinst.in ${PROJECT_BINARY_DIR}/debian/postinst
  @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_BINARY_DIR}/debian/postinst
  ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
  ${PROJECT_SOURCE_DIR}/cmake/debian/postrm
  ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
