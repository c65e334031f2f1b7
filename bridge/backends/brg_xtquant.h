/*  brg_xtquant.h - the `xtquant` session backend (a live MiniQMT terminal through the
    embedded xtquant Python module). Built only with CMake XTB_XTQUANT; see brg_xtquant.c.
*/
#ifndef BRG_XTQUANT_H_INCLUDED
#define BRG_XTQUANT_H_INCLUDED

#include "brg_backend.h"

extern const brg_backend_ops_t brg_xtquant_ops;

#endif
