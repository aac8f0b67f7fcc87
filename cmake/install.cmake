# What `cmake --install build [--prefix P]` puts under the prefix (GNUInstallDirs):
#   include/nabla.h, include/nabla/*.h (version.h generated)
#   lib/libnabla.so.0.x.y, libnabla.so.0, libnabla.so (and libnabla-io, -fit, -plot),
#   lib/libnabla*.a; lib/pkgconfig/nabla.pc (everything) and nabla-core.pc, nabla-io.pc,
#   nabla-fit.pc, nabla-plot.pc, nabla-mpi.pc (one per component); lib/cmake/nabla/ (find_package);
#   bin/nabla, lib/nabla/nabla-plot.so and nabla-mpi.so (the program's modules, when built);
#   share/man/man1/nabla.1 and share/bash-completion/completions/nabla when
#   those files exist in the source tree.
include(CMakePackageConfigHelpers)
set(NB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nabla)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/nabla/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nabla)

# The libraries, in one export set per kind: nablaConfig.cmake loads the shared set when
# it is installed and the static one otherwise (or when asked).
set(nb_primary_targets)
set(nb_static_targets)
foreach(name ${NB_COMPONENTS})
  list(APPEND nb_primary_targets nabla_${name})
  if(NB_STATIC_TOO AND NB_INSTALL_STATIC)
    list(APPEND nb_static_targets nabla_${name}_static)
  endif()
endforeach()
if(BUILD_SHARED_LIBS)
  set(nb_primary_set nabla-shared-targets)
else()
  set(nb_primary_set nabla-static-targets)
endif()
install(TARGETS ${nb_primary_targets} EXPORT ${nb_primary_set}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT ${nb_primary_set} NAMESPACE nabla:: DESTINATION ${NB_CMAKE_DIR})
if(nb_static_targets)
  install(TARGETS ${nb_static_targets} EXPORT nabla-static-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT nabla-static-targets NAMESPACE nabla:: DESTINATION ${NB_CMAKE_DIR})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nablaConfig.cmake.in ${PROJECT_BINARY_DIR}/nablaConfig.cmake
                              INSTALL_DESTINATION ${NB_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nablaConfig.cmake ${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/nablaDeps.cmake DESTINATION ${NB_CMAKE_DIR})

# pkg-config files. The prefix is written at install time, so that
# `cmake --install build --prefix P` gives files that name P.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(NB_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(NB_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(NB_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(NB_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(NB_PC_PREFIX "@NB_INSTALL_PREFIX@")
# nb_pkg_config(file NAME ... DESCRIPTION ... [REQUIRES ...] [REQUIRES_PRIVATE ...] [LIBS ...] [LIBS_PRIVATE ...])
function(nb_pkg_config file)
  cmake_parse_arguments(NB_PC "" "NAME;DESCRIPTION" "REQUIRES;REQUIRES_PRIVATE;LIBS;LIBS_PRIVATE" ${ARGN})
  foreach(field REQUIRES REQUIRES_PRIVATE LIBS LIBS_PRIVATE)
    string(REPLACE ";" " " NB_PC_${field} "${NB_PC_${field}}")
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/nabla.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc.in @ONLY)
  install(CODE "set(NB_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc.in\" \"${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

# One file per component, each requiring the one below it; nabla.pc is all of them. A
# static link takes the libraries each component uses from Requires.private and
# Libs.private (pkg-config --static).
set(nb_dl)
if(CMAKE_DL_LIBS)
  set(nb_dl -l${CMAKE_DL_LIBS})
endif()
nb_pkg_config(nabla-core NAME "nabla core" DESCRIPTION "nabla: tensors, reverse-mode autodiff, layers, training"
              LIBS "-L\${libdir}" -lnabla LIBS_PRIVATE -lpthread ${nb_dl} -lm)
nb_pkg_config(nabla-io NAME "nabla io" DESCRIPTION "nabla: tables (CSV), IDX and safetensors files"
              REQUIRES nabla-core REQUIRES_PRIVATE zlib libcjson LIBS "-L\${libdir}" -lnabla-io LIBS_PRIVATE -lcsv -lm)
nb_pkg_config(nabla-fit NAME "nabla fit" DESCRIPTION "nabla: formulas fitted to data by least squares"
              REQUIRES nabla-io REQUIRES_PRIVATE libcjson LIBS "-L\${libdir}" -lnabla-fit LIBS_PRIVATE -lm)
set(nb_pc_all nabla-fit)
if(NB_HAVE_PLOT)
  nb_pkg_config(nabla-plot NAME "nabla plot" DESCRIPTION "nabla: figures as PNG, SVG or PDF, animations as GIF"
                REQUIRES nabla-core REQUIRES_PRIVATE cairo LIBS "-L\${libdir}" -lnabla-plot LIBS_PRIVATE -lgif -lm)
  list(APPEND nb_pc_all nabla-plot)
endif()
if(NB_HAVE_MPI)
  # Apart from nabla.pc, as nabla.h leaves nabla/mpi.h out. It requires the MPI's own
  # file (Open MPI: ompi-c, MPICH: mpich) where there is one.
  pkg_check_modules(NB_PC_OMPI QUIET ompi-c)
  pkg_check_modules(NB_PC_MPICH QUIET mpich)
  set(nb_pc_mpi)
  if(NB_PC_OMPI_FOUND)
    set(nb_pc_mpi ompi-c)
  elseif(NB_PC_MPICH_FOUND)
    set(nb_pc_mpi mpich)
  endif()
  nb_pkg_config(nabla-mpi NAME "nabla mpi" DESCRIPTION "nabla: data-parallel training over MPI"
                REQUIRES nabla-core ${nb_pc_mpi} LIBS "-L\${libdir}" -lnabla-mpi)
endif()
nb_pkg_config(nabla NAME nabla DESCRIPTION "nabla: learn parameters by gradient descent and reverse-mode autodiff"
              REQUIRES ${nb_pc_all})

if(NB_BUILD_CLI)
  install(TARGETS nabla_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # The program's modules (cli/module.h), where it looks for them relative to itself.
  foreach(module nabla_cli_plot nabla_cli_mpi)
    if(TARGET ${module})
      install(TARGETS ${module} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/nabla)
    endif()
  endforeach()
endif()
# The manual page and the bash completion, where the tree has them.
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/nabla.1)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/nabla.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/completion/nabla)
  install(FILES ${PROJECT_SOURCE_DIR}/completion/nabla DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
endif()
