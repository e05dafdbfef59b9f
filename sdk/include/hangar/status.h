/* status.h - status codes shared by the host and every plugin, and their names.
 * Every SDK function that can fail returns int: 0 on success, a negative HG_E* code otherwise. */
#ifndef HANGAR_STATUS_H
#define HANGAR_STATUS_H

#include <stdint.h>

/* X(name, value, message). Values are fixed forever; new codes are appended. */
#define HG_STATUS_MAP(X)                                                        \
    X(EINVAL, -1, "invalid argument")                                           \
    X(ENOMEM, -2, "out of memory")                                              \
    X(ENOENT, -3, "not found")                                                  \
    X(EEXIST, -4, "already exists")                                             \
    X(EAGAIN, -5, "resource temporarily unavailable")                           \
    X(ETIMEDOUT, -6, "timed out")                                               \
    X(ECANCELED, -7, "operation canceled")                                      \
    X(ECONFIG, -8, "configuration error")                                       \
    X(EABI, -9, "incompatible plugin ABI")                                      \
    X(ENOTSUP, -10, "operation not supported")                                  \
    X(ESTATE, -11, "operation not valid in the current state")                  \
    X(EIO, -12, "input/output error")                                           \
    X(ENOSPC, -13, "buffer too small")                                          \
    X(ECONNREFUSED, -14, "connection refused")                                  \
    X(ECONNRESET, -15, "connection reset by peer")                              \
    X(EADDRINUSE, -16, "address already in use")                                \
    X(EADDRNOTAVAIL, -17, "address not available")                              \
    X(EPIPE, -18, "broken pipe")                                                \
    X(ECLOSED, -19, "closed")                                                   \
    X(EPROTO, -20, "protocol error")                                            \
    X(EFAIL, -21, "engine failed")                                              \
    X(ELOAD, -22, "plugin could not be loaded")                                 \
    X(EPERM, -23, "permission denied")                                          \
    X(EOVERFLOW, -24, "value out of range")                                     \
    X(ENETUNREACH, -25, "network unreachable")                                  \
    X(EHOSTUNREACH, -26, "host unreachable")                                    \
    X(EMFILE, -27, "too many open files")

enum {
#define HG__STATUS_ENUM(name, value, msg) HG_##name = (value),
    HG_OK = 0,
    HG_STATUS_MAP(HG__STATUS_ENUM)
#undef HG__STATUS_ENUM
};

/* hg_strerror - a human-readable message for a status code.
 * Returns: a static string; never NULL ("unknown status" for codes this SDK does not know).
 * [any-thread, never blocks] */
static inline const char *hg_strerror(int status)
{
    switch (status) {
    case 0: return "success";
#define HG__STATUS_MSG(name, value, msg) case (value): return msg;
    HG_STATUS_MAP(HG__STATUS_MSG)
#undef HG__STATUS_MSG
    default: return "unknown status";
    }
}

/* hg_err_name - the code's symbolic name without the HG_ prefix ("ETIMEDOUT").
 * Returns: a static string; never NULL ("EUNKNOWN" for codes this SDK does not know).
 * [any-thread, never blocks] */
static inline const char *hg_err_name(int status)
{
    switch (status) {
    case 0: return "OK";
#define HG__STATUS_NAME(name, value, msg) case (value): return #name;
    HG_STATUS_MAP(HG__STATUS_NAME)
#undef HG__STATUS_NAME
    default: return "EUNKNOWN";
    }
}

#endif /* HANGAR_STATUS_H */
