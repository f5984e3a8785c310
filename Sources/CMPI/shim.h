// OpenMPI's handles are macros that cast addresses of incomplete structs; Swift cannot import them.
// These static inline getters hand them to Swift as values.
#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H
#include <mpi.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype cmpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op cmpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op cmpi_op_bxor(void) { return MPI_BXOR; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
static inline int cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline MPI_Win cmpi_win_null(void) { return MPI_WIN_NULL; }

// The single-node allreduce's helpers (see SingleNodeAllreduce.swift): flags in an MPI shared-memory
// window, read and written with acquire/release ordering, and Linux cross-memory attach to read a
// peer rank's buffer directly, as OpenMPI's vader transport does.
static inline uint64_t cmpi_load_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void cmpi_store_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Sets `*p` to `desired` if it holds `expected` (acquire-release); returns whether it did.
static inline int cmpi_compare_exchange(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
/// Copies `n` bytes at `remote` in process `pid` to `local`; returns the bytes copied or -1 (errno).
static inline long cmpi_read_peer(pid_t pid, void *local, uint64_t remote, size_t n) {
    struct iovec l = { local, n };
    struct iovec r = { (void *)(uintptr_t)remote, n };
    // Through syscall(2): glibc declares process_vm_readv only under _GNU_SOURCE, and defining that
    // here would give this module different system-header types than Foundation's.
    return syscall(SYS_process_vm_readv, (long)pid, &l, 1UL, &r, 1UL, 0UL);
}

/// Copies `n` bytes at `local` to `remote` in process `pid`; returns the bytes copied or -1 (errno).
static inline long cmpi_write_peer(pid_t pid, const void *local, uint64_t remote, size_t n) {
    struct iovec l = { (void *)local, n };
    struct iovec r = { (void *)(uintptr_t)remote, n };
    return syscall(SYS_process_vm_writev, (long)pid, &l, 1UL, &r, 1UL, 0UL);
}

/// The low 32 bits of a 64-bit flag, the word a futex waits on (little- or big-endian).
static inline uint32_t *cmpi_flag_word(const uint64_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)p + 1;
#else
    return (uint32_t *)p;
#endif
}
/// Sleeps while the low 32 bits of the flag at `p` equal `seen`, at most `timeout_ns`; a store to it
/// followed by `cmpi_futex_wake` in any process mapping the same shared memory wakes it. A shared
/// (not FUTEX_PRIVATE) futex: the flags live in an MPI shared-memory window. Op 0 is FUTEX_WAIT.
static inline long cmpi_futex_wait(const uint64_t *p, uint32_t seen, long timeout_ns) {
    struct timespec t = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
    return syscall(SYS_futex, cmpi_flag_word(p), 0, seen, &t, (void *)0, 0);
}
/// Wakes every thread sleeping in `cmpi_futex_wait` on the flag at `p`. Op 1 is FUTEX_WAKE.
static inline long cmpi_futex_wake(const uint64_t *p) {
    return syscall(SYS_futex, cmpi_flag_word(p), 1, 0x7fffffff, (void *)0, (void *)0, 0);
}

#endif
