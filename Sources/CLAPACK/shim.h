// LAPACKE and CBLAS from Debian's liblapacke-dev and libopenblas-dev.
#ifndef CLAPACK_SHIM_H
#define CLAPACK_SHIM_H
#include <lapacke.h>
#if __has_include(<x86_64-linux-gnu/cblas.h>)
#include <x86_64-linux-gnu/cblas.h>
#elif __has_include(<aarch64-linux-gnu/cblas.h>)
#include <aarch64-linux-gnu/cblas.h>
#else
#include <cblas.h>
#endif
/// `lapack_int` is a macro, which Swift does not import; this is its type.
typedef lapack_int clapack_int;
#endif
