# CMake toolchain file: cross-compile for 64-bit Windows with Debian's mingw-w64 (the
# posix thread model, so winpthreads gives clock_gettime & co.), used by
# scripts/build-windows.sh for its dependencies and the project.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
# Windows 10 and later: libzmq derives _WIN32_WINNT from this (empty otherwise)
set(CMAKE_SYSTEM_VERSION 10.0)
set(XTB_MINGW_HOST x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${XTB_MINGW_HOST}-gcc-posix)
set(CMAKE_CXX_COMPILER ${XTB_MINGW_HOST}-g++-posix)
set(CMAKE_RC_COMPILER ${XTB_MINGW_HOST}-windres)
set(CMAKE_AR ${XTB_MINGW_HOST}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${XTB_MINGW_HOST}-ranlib CACHE FILEPATH "")
set(CMAKE_FIND_ROOT_PATH /usr/${XTB_MINGW_HOST})
# programs (protoc-c) from the host, libraries and headers from the target
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# A self-contained .exe: libgcc, libstdc++ (libzmq) and winpthread linked in.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
