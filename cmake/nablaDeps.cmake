# The libraries nabla's components link, found the same way by nabla's own build and by
# nablaConfig.cmake for a program that links the static libraries (a shared library
# carries its own NEEDED entries, so a program linking those needs none of this).
#   nb_find_deps(io plot)  defines, for the components named:
#     core  Threads::Threads
#     io    PkgConfig::NB_ZLIB, PkgConfig::NB_CJSON, nabla_deps::csv
#     plot  PkgConfig::NB_CAIRO and GIF::GIF when cairo and giflib are found
#           (NB_CAIRO_FOUND and GIF_FOUND say whether)
#     mpi   MPI::MPI_C when MPI is found (MPI_C_FOUND says whether)
# io's libraries are required; cairo, giflib and MPI are not: without them there is no
# nabla::plot, no nabla::mpi.
macro(nb_find_deps)
  set(_nb_deps_wanted ${ARGN})
  if(NOT TARGET Threads::Threads)
    find_package(Threads REQUIRED)
  endif()
  find_package(PkgConfig REQUIRED)
  if("io" IN_LIST _nb_deps_wanted AND NOT TARGET nabla_deps::csv)
    # Data and model files: zlib (gzip IDX), cJSON (safetensors headers), libcsv (CSV).
    pkg_check_modules(NB_ZLIB REQUIRED IMPORTED_TARGET zlib)
    pkg_check_modules(NB_CJSON REQUIRED IMPORTED_TARGET libcjson)
    # libcsv ships no pkg-config file.
    find_path(NB_CSV_INCLUDE_DIR csv.h REQUIRED)
    find_library(NB_CSV_LIBRARY csv REQUIRED)
    add_library(nabla_deps::csv UNKNOWN IMPORTED)
    set_target_properties(nabla_deps::csv PROPERTIES IMPORTED_LOCATION "${NB_CSV_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${NB_CSV_INCLUDE_DIR}")
  endif()
  if("plot" IN_LIST _nb_deps_wanted AND NOT TARGET PkgConfig::NB_CAIRO)
    pkg_check_modules(NB_CAIRO QUIET IMPORTED_TARGET cairo)
  endif()
  # giflib (animated GIFs) ships no pkg-config file everywhere; CMake's own module finds it.
  if("plot" IN_LIST _nb_deps_wanted AND NOT TARGET GIF::GIF)
    find_package(GIF 5 QUIET)
  endif()
  if("mpi" IN_LIST _nb_deps_wanted AND NOT TARGET MPI::MPI_C)
    find_package(MPI QUIET COMPONENTS C)
  endif()
endmacro()
