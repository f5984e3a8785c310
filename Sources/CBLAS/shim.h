// OpenBLAS's CBLAS interface plus the OpenBLAS-specific runtime queries (core name, thread count).
#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
#include <cblas.h>
#endif
