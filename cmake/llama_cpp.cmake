# Defines the imported target cohost::llama (libllama + ggml, static) and the variables
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
set(_libs ${_ll}/src/libllama.a ${_ll}/ggml/src/libggml.a ${_ll}/ggml/src/libggml-cpu.a)
file(GLOB _cuda_lib ${_ll}/ggml/src/ggml-cuda/libggml-cuda.a)
list(APPEND _libs ${_cuda_lib} ${_ll}/ggml/src/libggml-base.a)
foreach(_lib ${_libs})
  if(NOT EXISTS ${_lib})
    message(FATAL_ERROR "llama.cpp build at ${_ll} lacks ${_lib}; rerun scripts/llama_cpp.sh")
  endif()
endforeach()

find_package(OpenMP REQUIRED)
add_library(cohost_llama INTERFACE)
target_include_directories(cohost_llama SYSTEM INTERFACE
  ${COHOST_LLAMA_SRC}/include ${COHOST_LLAMA_SRC}/ggml/include ${COHOST_LLAMA_SRC}/src)
# The ggml libraries reference each other; a link group resolves the cycles.
target_link_libraries(cohost_llama INTERFACE
  "-Wl,--start-group" ${_libs} "-Wl,--end-group" OpenMP::OpenMP_CXX Threads::Threads ${CMAKE_DL_LIBS})
if(_cuda_lib)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(cohost_llama INTERFACE CUDA::cudart_static CUDA::cublas_static
                        CUDA::cublasLt_static CUDA::cuda_driver)
endif()
add_library(cohost::llama ALIAS cohost_llama)
