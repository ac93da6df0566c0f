# Defines the target cohost::llama (libllama + ggml: static archives for a CPU build, one shared
# library for a CUDA build) and the variables
#   COHOST_LLAMA_SRC   the llama.cpp source tree (for its vocab-only GGUF files)
#   COHOST_LLAMA_BIN   the directory holding llama.cpp's tools (llama-batched-bench, ...)

if(COHOST_LLAMA_SOURCE_DIR)
  # A user's checkout, built here with the same options the cache script uses.
  set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_TESTS OFF CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_SERVER OFF CACHE BOOL "" FORCE)
  set(LLAMA_BUILD_APP OFF CACHE BOOL "" FORCE)
  set(LLAMA_OPENSSL OFF CACHE BOOL "" FORCE)
  set(GGML_CUDA ${COHOST_CUDA} CACHE BOOL "" FORCE)
  if(COHOST_CUDA)
    set(CMAKE_CUDA_ARCHITECTURES ${COHOST_CUDA_ARCHITECTURES} CACHE STRING "" FORCE)
  endif()
  add_subdirectory(${COHOST_LLAMA_SOURCE_DIR} ${CMAKE_BINARY_DIR}/llama.cpp EXCLUDE_FROM_ALL)
  add_library(cohost_llama INTERFACE)
  target_link_libraries(cohost_llama INTERFACE llama ggml)
  # llama-ext.h (memory breakdowns) lives in llama.cpp's src/.
  target_include_directories(cohost_llama SYSTEM INTERFACE ${COHOST_LLAMA_SOURCE_DIR}/src)
  add_library(cohost::llama ALIAS cohost_llama)
  set(COHOST_LLAMA_SRC ${COHOST_LLAMA_SOURCE_DIR})
  set(COHOST_LLAMA_BIN ${CMAKE_BINARY_DIR}/bin)
  return()
endif()

if(NOT COHOST_LLAMA_BUILD_DIR)
  message(FATAL_ERROR "Set COHOST_LLAMA_BUILD_DIR (run scripts/llama_cpp.sh, which prints it) "
                      "or COHOST_LLAMA_SOURCE_DIR (a llama.cpp checkout).")
endif()
file(READ ${COHOST_LLAMA_BUILD_DIR}/../source_dir COHOST_LLAMA_SRC)
string(STRIP "${COHOST_LLAMA_SRC}" COHOST_LLAMA_SRC)
set(COHOST_LLAMA_BIN ${COHOST_LLAMA_BUILD_DIR}/bin)

set(_ll ${COHOST_LLAMA_BUILD_DIR})
set(_includes ${COHOST_LLAMA_SRC}/include ${COHOST_LLAMA_SRC}/ggml/include ${COHOST_LLAMA_SRC}/src)
get_filename_component(_shared ${_ll}/../lib/libllama-cohost.so ABSOLUTE)
if(EXISTS ${_shared})
  # A CUDA build from scripts/llama_cpp.sh: llama.cpp + ggml as one shared library that links the
  # CUDA runtime libraries dynamically. It is copied beside the build's binaries (lib/), and the
  # binaries find it relative to themselves ($ORIGIN/../lib, then $ORIGIN), so a copied or
  # installed tree works wherever it lands; nothing of the cache's path is compiled in.
  set(COHOST_LLAMA_HAS_CUDA ON)
  set(COHOST_LLAMA_SHARED_LIB ${CMAKE_BINARY_DIR}/lib/libllama-cohost.so)
  configure_file(${_shared} ${COHOST_LLAMA_SHARED_LIB} COPYONLY)
  add_library(cohost_llama_shared SHARED IMPORTED GLOBAL)
  set_target_properties(cohost_llama_shared PROPERTIES IMPORTED_LOCATION ${COHOST_LLAMA_SHARED_LIB}
                        IMPORTED_SONAME libllama-cohost.so)
  add_library(cohost_llama INTERFACE)
  target_include_directories(cohost_llama SYSTEM INTERFACE ${_includes})
  target_link_libraries(cohost_llama INTERFACE cohost_llama_shared Threads::Threads ${CMAKE_DL_LIBS})
  add_library(cohost::llama ALIAS cohost_llama)
  set(CMAKE_SKIP_BUILD_RPATH OFF)
  set(CMAKE_BUILD_WITH_INSTALL_RPATH ON)
  set(CMAKE_INSTALL_RPATH "$ORIGIN/../lib;$ORIGIN")
  # The CUDA libraries are the GPU machine's own (found through its loader path); the stubs that
  # satisfied the link are not needed at run time.
  set(CMAKE_EXE_LINKER_FLAGS "${CMAKE_EXE_LINKER_FLAGS} -Wl,--allow-shlib-undefined")
  set(COHOST_LLAMA_BIN ${_ll}/../bin)
  install(FILES ${COHOST_LLAMA_SHARED_LIB} DESTINATION lib)
  return()
endif()

set(_libs ${_ll}/src/libllama.a ${_ll}/ggml/src/libggml.a ${_ll}/ggml/src/libggml-cpu.a)
foreach(_lib ${_libs} ${_ll}/ggml/src/libggml-base.a)
  if(NOT EXISTS ${_lib})
    message(FATAL_ERROR "llama.cpp build at ${_ll} lacks ${_lib}; rerun scripts/llama_cpp.sh")
  endif()
endforeach()
if(EXISTS ${_ll}/ggml/src/ggml-cuda/libggml-cuda.a)
  message(FATAL_ERROR "llama.cpp build at ${_ll} has CUDA but no lib/libllama-cohost.so; "
                      "rerun scripts/llama_cpp.sh with COHOST_CUDA=ON")
endif()
list(APPEND _libs ${_ll}/ggml/src/libggml-base.a)

find_package(OpenMP REQUIRED)
add_library(cohost_llama INTERFACE)
target_include_directories(cohost_llama SYSTEM INTERFACE ${_includes})
# The ggml libraries reference each other; a link group resolves the cycles.
target_link_libraries(cohost_llama INTERFACE
  "-Wl,--start-group" ${_libs} "-Wl,--end-group" OpenMP::OpenMP_CXX Threads::Threads ${CMAKE_DL_LIBS})
add_library(cohost::llama ALIAS cohost_llama)
