# Install layout (FHS) and the Debian package.
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   cmake --install build              # or: (cd build && cpack -G DEB)
# With the prefix /usr, GNUInstallDirs puts configuration in /etc and state in /var.

set(SRVMON_UNITDIR /lib/systemd/system CACHE PATH "systemd system unit directory")
set(SRVMON_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/srvmon)
set(SRVMON_STATEDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/srvmon)
set(SRVMON_LOGDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/log/srvmon)

install(FILES systemd/srvmon-agent.service systemd/srvmon-agent@.service systemd/srvmon-server.service
	DESTINATION ${SRVMON_UNITDIR})
install(FILES man/srvmon-agent.8 man/srvmon-server.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES man/srvmon-agent.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
# The example holds no password yet, but will: it is installed private from the start.
install(FILES etc/agent.conf.example DESTINATION ${SRVMON_CONFDIR} RENAME agent.conf
	PERMISSIONS OWNER_READ OWNER_WRITE)
install(DIRECTORY DESTINATION ${SRVMON_STATEDIR}
	DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(DIRECTORY DESTINATION ${SRVMON_LOGDIR}
	DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(FILES README.md etc/agent.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME srvmon)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "srvmon maintainers <maintainers@users.noreply.b-seed-0ff31d18.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Linux server monitoring agent (eBPF) and reference API")
set(CPACK_PACKAGE_DESCRIPTION "srvmon-agent samples CPU, RAM, disk and per-interface network\n counters (in-kernel, eBPF) and ships them over an authenticated WebSocket.\n srvmon-server is the reference monitoring API with SQLite storage.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
	${PROJECT_SOURCE_DIR}/packaging/debian/postinst
	${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
