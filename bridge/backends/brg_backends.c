/*  brg_backends.c - the registry of session backends. The only place that names them: a
    new backend adds its ops table here and nothing in the router changes.
*/
#include "brg_backend.h"

#include <string.h>

extern const brg_backend_ops_t brg_sim_ops;
#ifdef XTB_HAVE_XTQUANT
extern const brg_backend_ops_t brg_xtquant_ops;
#endif

/* xtquant is listed only when built (CMake XTB_XTQUANT: libpython3-dev found) */
static const brg_backend_ops_t *const backends[] = {&brg_sim_ops,
#ifdef XTB_HAVE_XTQUANT
                                                    &brg_xtquant_ops
#endif
};

const brg_backend_ops_t *brg_backend_find(const char *name) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (name && strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const char *brg_backend_names(void) {
#ifdef XTB_HAVE_XTQUANT
    return "sim, xtquant";
#else
    return "sim";
#endif
}
