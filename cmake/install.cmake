# Installation and packaging (issue 15): `cmake --install` puts the binary,
# the systemd unit, the example configuration and the man page in place;
# `cpack -G DEB` builds lakesupd_<version>_<arch>.deb from the same rules.
# Paths follow GNUInstallDirs under the prefix: the unit goes to
# <prefix>/lib/systemd/system (/usr/lib/... for the .deb, /usr/local/lib/...
# by default: both on systemd's unit search path); the configuration to
# /etc/lakesupd whatever the prefix.
include(GNUInstallDirs)

install(TARGETS lakesupd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the installed binary: deploy/lakesupd.service says
# /usr/bin/lakesupd, rewritten at install time to <prefix>/bin (the prefix of
# `cmake --install --prefix`, or /usr for the .deb).
set(LK_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "systemd unit directory, under the prefix")
install(CODE "
  file(READ \"${CMAKE_SOURCE_DIR}/deploy/lakesupd.service\" unit)
  string(REPLACE \"/usr/bin/lakesupd\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/lakesupd\" unit \"\${unit}\")
  file(WRITE \"${CMAKE_BINARY_DIR}/lakesupd.service\" \"\${unit}\")
")
install(FILES ${CMAKE_BINARY_DIR}/lakesupd.service DESTINATION ${LK_SYSTEMD_UNITDIR})

# The configuration: the example in <prefix>/share/lakesupd, and
# /etc/lakesupd/lakesup.yml (the unit's path, whatever the prefix) made from it
# when there is none: a re-install never loses an edit. The .deb leaves
# /etc to its maintainer scripts (component "etc" is not packaged): postinst
# copies the example, prerm removes it while unchanged (apt remove leaves no
# file but the data and an edited configuration), postrm purge removes it.
install(FILES ${CMAKE_SOURCE_DIR}/deploy/lakesupd.yml DESTINATION ${CMAKE_INSTALL_DATADIR}/lakesupd
  RENAME lakesup.yml)
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}/etc/lakesupd/lakesup.yml\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}/etc/lakesupd/lakesup.yml\")
  else()
    file(INSTALL \"${CMAKE_SOURCE_DIR}/deploy/lakesupd.yml\" DESTINATION /etc/lakesupd
      RENAME lakesup.yml)
  endif()
" COMPONENT etc)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/lakesup.example.yml DESTINATION ${CMAKE_INSTALL_DOCDIR})

# lakesupd(1), from scdoc source
find_program(SCDOC scdoc REQUIRED)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/lakesupd.1
  COMMAND ${SCDOC} < ${CMAKE_SOURCE_DIR}/docs/man/lakesupd.1.scd > ${CMAKE_BINARY_DIR}/lakesupd.1
  DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/lakesupd.1.scd VERBATIM)
add_custom_target(lk_man ALL DEPENDS ${CMAKE_BINARY_DIR}/lakesupd.1)
install(FILES ${CMAKE_BINARY_DIR}/lakesupd.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# ---- the .deb ----
set(CPACK_PACKAGE_NAME lakesupd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lakesupd maintainers <maintainers@lakesupd.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming lakehouse daemon: files and Kafka topics to Delta Lake tables, exactly once")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
# the shared libraries' packages, as dpkg-shlibdeps finds them (libzmq5,
# libczmq4, librdkafka1, libsystemd0, ...)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# librdkafka is dlopen()ed by the Kafka source only, libcurl by the monitor's first webhook,
# libmicrohttpd by the monitor's HTTP server (none is seen by shlibdeps): the last is needed by
# every installation
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libmicrohttpd12")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "librdkafka1, libcurl4")
# only the default component, not "etc": the maintainer scripts own /etc/lakesupd
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
  ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
  ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
