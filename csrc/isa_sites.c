/* isa_sites.c -- the list of per-ISA plain-C functions (util.h's FNN_ISA_VARIANTS and
 * FNN_ISA_SITE) and which of their versions have run, for the forced-ISA tests.  Each
 * site puts a pointer to itself in the "fnn_isa_sites" section; the linker gathers them
 * and names its bounds __start_fnn_isa_sites / __stop_fnn_isa_sites (ELF). */
#include "util.h"

#if defined(__ELF__) && defined(__GNUC__)
extern fnn_isa_site *__start_fnn_isa_sites[] __attribute__((weak, visibility("hidden")));
extern fnn_isa_site *__stop_fnn_isa_sites[] __attribute__((weak, visibility("hidden")));
#define FIRST __start_fnn_isa_sites
#define COUNT (__start_fnn_isa_sites ? (int)(__stop_fnn_isa_sites - __start_fnn_isa_sites) : 0)
#else
static fnn_isa_site **FIRST = 0;
#define COUNT 0
#endif

int fnn_isa_site_count(void) { return COUNT; }

const char *fnn_isa_site_name(int i) { return i >= 0 && i < COUNT ? FIRST[i]->name : ""; }

const char *fnn_isa_site_file(int i) { return i >= 0 && i < COUNT ? FIRST[i]->file : ""; }

int fnn_isa_site_ran(int i) {
    return i >= 0 && i < COUNT ? __atomic_load_n(&FIRST[i]->ran, __ATOMIC_RELAXED) : 0;
}

void fnn_isa_sites_reset(void) {
    for (int i = 0; i < COUNT; i++) __atomic_store_n(&FIRST[i]->ran, 0, __ATOMIC_RELAXED);
}
