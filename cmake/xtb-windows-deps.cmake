# Windows cross-build (scripts/build-windows.sh): the dependencies are static archives in
# XTB_DEPS_PREFIX built from Debian's source packages. They are declared here as the same
# imported targets pkg_check_modules makes on Linux (PkgConfig::ZMQ, ...), so the rest of
# the build does not care which platform it is on.
if(NOT XTB_DEPS_PREFIX OR NOT EXISTS ${XTB_DEPS_PREFIX}/lib/libczmq.a)
  message(FATAL_ERROR "Windows build: XTB_DEPS_PREFIX must hold the mingw builds of libzmq, "
                      "czmq, protobuf-c and lmdb (scripts/build-windows.sh makes it)")
endif()
set(_lib ${XTB_DEPS_PREFIX}/lib)
set(_inc ${XTB_DEPS_PREFIX}/include)
# libzmq is C++ (its runtime comes with -static) and talks Winsock, IP Helper, RPC (uuids)
add_library(PkgConfig::ZMQ INTERFACE IMPORTED)
set_target_properties(PkgConfig::ZMQ PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${_inc}
  INTERFACE_COMPILE_DEFINITIONS ZMQ_STATIC
  INTERFACE_LINK_LIBRARIES "${_lib}/libzmq.a;ws2_32;iphlpapi;rpcrt4;advapi32;stdc++")
add_library(PkgConfig::CZMQ INTERFACE IMPORTED)
set_target_properties(PkgConfig::CZMQ PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${_inc}
  INTERFACE_COMPILE_DEFINITIONS CZMQ_STATIC
  INTERFACE_LINK_LIBRARIES "${_lib}/libczmq.a;PkgConfig::ZMQ")
add_library(PkgConfig::PROTOBUFC INTERFACE IMPORTED)
set_target_properties(PkgConfig::PROTOBUFC PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${_inc}
  INTERFACE_LINK_LIBRARIES ${_lib}/libprotobuf-c.a)
add_library(PkgConfig::LMDB INTERFACE IMPORTED)
set_target_properties(PkgConfig::LMDB PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${_inc}
  INTERFACE_LINK_LIBRARIES ${_lib}/liblmdb.a)

# The xtquant backend on Windows embeds the CPython that MiniQMT bundles: only on request
# (-DXTB_WIN_PYTHON_HOME=DIR, DIR/include and DIR/pythonXY.dll), never searched for.
set(XTB_WIN_PYTHON_HOME "" CACHE PATH "Windows CPython for the xtquant backend (off when empty)")
set(Python3_Development_FOUND FALSE)
if(XTB_WIN_PYTHON_HOME)
  file(GLOB _pydll ${XTB_WIN_PYTHON_HOME}/python3[0-9]*.dll)
  file(GLOB _pylib ${XTB_WIN_PYTHON_HOME}/libs/python3[0-9]*.lib)
  if(NOT EXISTS ${XTB_WIN_PYTHON_HOME}/include/Python.h OR (NOT _pydll AND NOT _pylib))
    message(FATAL_ERROR "XTB_WIN_PYTHON_HOME=${XTB_WIN_PYTHON_HOME}: no include/Python.h and "
                        "python3XY.dll (or libs/python3XY.lib) there")
  endif()
  if(_pydll)
    list(GET _pydll 0 _pylink) # GNU ld links against the DLL itself
  else()
    list(GET _pylib 0 _pylink)
  endif()
  add_library(Python3::Python INTERFACE IMPORTED)
  set_target_properties(Python3::Python PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${XTB_WIN_PYTHON_HOME}/include
    INTERFACE_COMPILE_DEFINITIONS MS_WIN64
    INTERFACE_LINK_LIBRARIES ${_pylink})
  set(Python3_Development_FOUND TRUE)
endif()
