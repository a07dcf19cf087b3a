/*
 * libls_shims: the few native calls Lakestream's data path needs, loaded from Java with
 * java.lang.foreign (no JNI). Three concerns:
 *
 *  1. Pinning pool slabs. cudaHostRegister when a CUDA runtime and at least one device are
 *     present, else mlock, else nothing (the caller warns). The CUDA runtime is found at run time
 *     with dlopen, so this file builds and runs on machines without CUDA.
 *  2. Saying which mode is active and why (ls_pin_mode, ls_mode_reason, ls_last_error).
 *  3. An asynchronous host-to-device copy (cudaMemcpyAsync on a stream) plus the stream and
 *     device-memory calls a caller needs around it.
 *  4. CUDA events recorded on a stream, so a pool slab is lent again only after every copy
 *     queued from it has run (PyTorch records no event for memory it did not allocate).
 *
 * Test-only switches, read once at first use: LS_SHIMS_DISABLE_CUDA=1 skips the CUDA probe,
 * LS_SHIMS_DISABLE_MLOCK=1 skips mlock, so every fallback path can be exercised anywhere.
 *
 * Errors: functions return a status; the message of the last failure on the calling thread is
 * in ls_last_error(). Nothing here aborts or prints.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define LS_SHIMS_VERSION 2

/* Pin modes; the Java enum Pinner.Mode maps them by these values. */
#define LS_MODE_NONE 0
#define LS_MODE_MLOCK 1
#define LS_MODE_CUDA 2

/* Status codes shared by the CUDA entry points. */
#define LS_OK 0
#define LS_ERR_NO_CUDA (-1)
#define LS_ERR_CUDA (-2)
#define LS_ERR_ARG (-3)
#define LS_ERR_SYS (-4)

/* The subset of the CUDA runtime API used here; cudaError_t is an int-sized enum. */
typedef int (*cuda_get_device_count_fn)(int *);
typedef int (*cuda_runtime_get_version_fn)(int *);
typedef int (*cuda_host_register_fn)(void *, size_t, unsigned int);
typedef int (*cuda_host_unregister_fn)(void *);
typedef int (*cuda_malloc_fn)(void **, size_t);
typedef int (*cuda_free_fn)(void *);
typedef int (*cuda_memcpy_fn)(void *, const void *, size_t, int);
typedef int (*cuda_memcpy_async_fn)(void *, const void *, size_t, int, void *);
typedef int (*cuda_stream_create_fn)(void **);
typedef int (*cuda_stream_sync_fn)(void *);
typedef int (*cuda_stream_destroy_fn)(void *);
typedef int (*cuda_get_last_error_fn)(void);
typedef int (*cuda_event_create_with_flags_fn)(void **, unsigned int);
typedef int (*cuda_event_record_fn)(void *, void *);
typedef int (*cuda_event_query_fn)(void *);
typedef int (*cuda_event_sync_fn)(void *);
typedef int (*cuda_event_destroy_fn)(void *);
typedef void (*cuda_host_fn)(void *);
typedef int (*cuda_launch_host_func_fn)(void *, cuda_host_fn, void *);
typedef const char *(*cuda_get_error_string_fn)(int);

#define CUDA_HOST_REGISTER_PORTABLE 1u /* pinned for every CUDA context, not just the current one */
#define CUDA_MEMCPY_HOST_TO_DEVICE 1
#define CUDA_MEMCPY_DEVICE_TO_HOST 2
#define CUDA_EVENT_DISABLE_TIMING 2u /* cheaper events: no timestamps */
#define CUDA_ERROR_NOT_READY 600    /* cudaEventQuery: work before the event still runs */

static struct {
    void *lib;
    cuda_host_register_fn host_register;
    cuda_host_unregister_fn host_unregister;
    cuda_malloc_fn malloc_;
    cuda_free_fn free_;
    cuda_memcpy_fn memcpy_;
    cuda_memcpy_async_fn memcpy_async;
    cuda_stream_create_fn stream_create;
    cuda_stream_sync_fn stream_sync;
    cuda_stream_destroy_fn stream_destroy;
    cuda_get_last_error_fn get_last_error;
    cuda_get_error_string_fn get_error_string;
    cuda_event_create_with_flags_fn event_create;
    cuda_event_record_fn event_record;
    cuda_event_query_fn event_query;
    cuda_event_sync_fn event_sync;
    cuda_event_destroy_fn event_destroy;
    cuda_launch_host_func_fn launch_host_func;
} cuda;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int cuda_ok;           /* runtime loaded, every symbol found, >= 1 device */
static int mlock_enabled;     /* not disabled by LS_SHIMS_DISABLE_MLOCK */
static int preferred_mode;    /* what ls_pin tries first */
static char reason[512];      /* why preferred_mode, written once under init_once */
static __thread char last_error[512];

static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static const char *cuda_error_string(int code) {
    if (cuda.get_error_string != NULL) {
        const char *s = cuda.get_error_string(code);
        if (s != NULL) {
            return s;
        }
    }
    return "unknown CUDA error";
}

/* Clears CUDA's per-thread last error so a failed, non-sticky call does not leak into the next. */
static void cuda_clear(void) {
    if (cuda.get_last_error != NULL) {
        (void)cuda.get_last_error();
    }
}

#define LOAD(field, name)                                              \
    do {                                                               \
        *(void **)(&cuda.field) = dlsym(lib, name);                    \
        if (cuda.field == NULL) {                                      \
            snprintf(reason, sizeof reason, "%s lacks %s", soname, name); \
            goto fail;                                                 \
        }                                                              \
    } while (0)

/* Returns 1 when a usable CUDA runtime with a device was found; else writes reason. */
static int probe_cuda(void) {
    static const char *const sonames[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11", "libcudart.so"};
    void *lib = NULL;
    const char *soname = NULL;
    char tried[384] = "";
    for (size_t i = 0; i < sizeof sonames / sizeof sonames[0]; i++) {
        lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (lib != NULL) {
            soname = sonames[i];
            break;
        }
        strncat(tried, i == 0 ? "" : ", ", sizeof tried - strlen(tried) - 1);
        strncat(tried, sonames[i], sizeof tried - strlen(tried) - 1);
    }
    if (lib == NULL) {
        snprintf(reason, sizeof reason, "no CUDA runtime (dlopen of %s failed)", tried);
        return 0;
    }
    cuda_get_device_count_fn get_device_count;
    cuda_runtime_get_version_fn runtime_version;
    *(void **)(&get_device_count) = dlsym(lib, "cudaGetDeviceCount");
    *(void **)(&runtime_version) = dlsym(lib, "cudaRuntimeGetVersion");
    if (get_device_count == NULL) {
        snprintf(reason, sizeof reason, "%s lacks cudaGetDeviceCount", soname);
        goto fail;
    }
    LOAD(get_error_string, "cudaGetErrorString");
    LOAD(get_last_error, "cudaGetLastError");
    LOAD(host_register, "cudaHostRegister");
    LOAD(host_unregister, "cudaHostUnregister");
    LOAD(malloc_, "cudaMalloc");
    LOAD(free_, "cudaFree");
    LOAD(memcpy_, "cudaMemcpy");
    LOAD(memcpy_async, "cudaMemcpyAsync");
    LOAD(stream_create, "cudaStreamCreate");
    LOAD(stream_sync, "cudaStreamSynchronize");
    LOAD(stream_destroy, "cudaStreamDestroy");
    LOAD(event_create, "cudaEventCreateWithFlags");
    LOAD(event_record, "cudaEventRecord");
    LOAD(event_query, "cudaEventQuery");
    LOAD(event_sync, "cudaEventSynchronize");
    LOAD(event_destroy, "cudaEventDestroy");
    LOAD(launch_host_func, "cudaLaunchHostFunc");
    int devices = 0;
    int rc = get_device_count(&devices);
    if (rc != 0 || devices <= 0) {
        snprintf(reason, sizeof reason, "%s loaded but no CUDA device (cudaGetDeviceCount: %s, count %d)", soname,
                 rc != 0 ? cuda_error_string(rc) : "ok", devices);
        goto fail;
    }
    int version = 0;
    if (runtime_version != NULL) {
        (void)runtime_version(&version);
    }
    cuda.lib = lib;
    snprintf(reason, sizeof reason, "cudaHostRegister via %s (runtime %d.%d, %d device%s)", soname, version / 1000,
             (version % 1000) / 10, devices, devices == 1 ? "" : "s");
    return 1;
fail:
    memset(&cuda, 0, sizeof cuda);
    /* No dlclose: a CUDA runtime that has run may have registered exit handlers; unloading it
       under them can crash the process at exit. The handle is one per process. */
    return 0;
}

static void init(void) {
    mlock_enabled = !env_flag("LS_SHIMS_DISABLE_MLOCK");
    if (env_flag("LS_SHIMS_DISABLE_CUDA")) {
        snprintf(reason, sizeof reason, "CUDA disabled by LS_SHIMS_DISABLE_CUDA");
        cuda_ok = 0;
    } else {
        cuda_ok = probe_cuda();
    }
    char why_not_cuda[512];
    snprintf(why_not_cuda, sizeof why_not_cuda, "%s", reason);
    if (cuda_ok) {
        preferred_mode = LS_MODE_CUDA;
    } else if (mlock_enabled) {
        preferred_mode = LS_MODE_MLOCK;
        snprintf(reason, sizeof reason, "mlock (%s)", why_not_cuda);
    } else {
        preferred_mode = LS_MODE_NONE;
        snprintf(reason, sizeof reason, "unpinned (%s; mlock disabled by LS_SHIMS_DISABLE_MLOCK)", why_not_cuda);
    }
}

static void ensure_init(void) {
    pthread_once(&init_once, init);
}

/* ------------------------------------------------------------------ queries */

int ls_shims_version(void) {
    return LS_SHIMS_VERSION;
}

int ls_cuda_available(void) {
    ensure_init();
    return cuda_ok;
}

int ls_pin_mode(void) {
    ensure_init();
    return preferred_mode;
}

const char *ls_mode_reason(void) {
    ensure_init();
    return reason;
}

const char *ls_last_error(void) {
    return last_error;
}

/* ------------------------------------------------------------------ pinning */

/*
 * Pins [addr, addr + len) with the best mode that works and returns it (LS_MODE_*). A failed
 * CUDA registration falls back to mlock, a failed mlock to none; the failure's text stays in
 * ls_last_error() so the caller can say why a slab is unpinned.
 */
int ls_pin(void *addr, size_t len) {
    ensure_init();
    last_error[0] = '\0';
    if (addr == NULL || len == 0) {
        set_error("ls_pin: empty range");
        return LS_MODE_NONE;
    }
    if (cuda_ok) {
        int rc = cuda.host_register(addr, len, CUDA_HOST_REGISTER_PORTABLE);
        if (rc == 0) {
            return LS_MODE_CUDA;
        }
        cuda_clear();
        set_error("cudaHostRegister(%zu bytes): %s (%d)", len, cuda_error_string(rc), rc);
    }
    if (mlock_enabled) {
        if (mlock(addr, len) == 0) {
            return LS_MODE_MLOCK;
        }
        int e = errno;
        char prev[256];
        snprintf(prev, sizeof prev, "%s", last_error);
        set_error("%s%smlock(%zu bytes): %s%s", prev, prev[0] ? "; " : "", len, strerror(e),
                  e == ENOMEM || e == EPERM ? " (RLIMIT_MEMLOCK too small? raise `ulimit -l` or grant CAP_IPC_LOCK)" : "");
    } else if (last_error[0] == '\0') {
        set_error("%s", reason);
    }
    return LS_MODE_NONE;
}

/* Undoes ls_pin for a range pinned with `mode`. Returns 0, or -1 with ls_last_error set. */
int ls_unpin(void *addr, size_t len, int mode) {
    ensure_init();
    switch (mode) {
    case LS_MODE_CUDA: {
        if (!cuda_ok) {
            set_error("ls_unpin: CUDA mode but no CUDA runtime");
            return -1;
        }
        int rc = cuda.host_unregister(addr);
        if (rc != 0) {
            cuda_clear();
            set_error("cudaHostUnregister: %s (%d)", cuda_error_string(rc), rc);
            return -1;
        }
        return 0;
    }
    case LS_MODE_MLOCK:
        if (munlock(addr, len) != 0) {
            set_error("munlock(%zu bytes): %s", len, strerror(errno));
            return -1;
        }
        return 0;
    case LS_MODE_NONE:
        return 0;
    default:
        set_error("ls_unpin: unknown mode %d", mode);
        return -1;
    }
}

/* ------------------------------------------------------------------ CUDA copies */

static int cuda_call(int rc, const char *what) {
    if (rc == 0) {
        return LS_OK;
    }
    cuda_clear();
    set_error("%s: %s (%d)", what, cuda_error_string(rc), rc);
    return LS_ERR_CUDA;
}

#define REQUIRE_CUDA(what)                                                  \
    do {                                                                    \
        ensure_init();                                                      \
        if (!cuda_ok) {                                                     \
            set_error("%s: CUDA is not available: %s", what, reason);       \
            return LS_ERR_NO_CUDA;                                          \
        }                                                                   \
    } while (0)

int ls_cuda_stream_create(void **stream_out) {
    REQUIRE_CUDA("cudaStreamCreate");
    if (stream_out == NULL) {
        set_error("cudaStreamCreate: null out pointer");
        return LS_ERR_ARG;
    }
    return cuda_call(cuda.stream_create(stream_out), "cudaStreamCreate");
}

int ls_cuda_stream_sync(void *stream) {
    REQUIRE_CUDA("cudaStreamSynchronize");
    return cuda_call(cuda.stream_sync(stream), "cudaStreamSynchronize");
}

int ls_cuda_stream_destroy(void *stream) {
    REQUIRE_CUDA("cudaStreamDestroy");
    return cuda_call(cuda.stream_destroy(stream), "cudaStreamDestroy");
}

int ls_cuda_malloc(void **dev_out, size_t len) {
    REQUIRE_CUDA("cudaMalloc");
    if (dev_out == NULL) {
        set_error("cudaMalloc: null out pointer");
        return LS_ERR_ARG;
    }
    return cuda_call(cuda.malloc_(dev_out, len), "cudaMalloc");
}

int ls_cuda_free(void *dev) {
    REQUIRE_CUDA("cudaFree");
    return cuda_call(cuda.free_(dev), "cudaFree");
}

/*
 * Queues a host-to-device copy on `stream` and returns at once. The host range must stay
 * valid (its batch open) until the stream is synchronised; from a pinned slab the copy is DMA.
 */
int ls_cuda_memcpy_h2d_async(void *dst_dev, const void *src_host, size_t len, void *stream) {
    REQUIRE_CUDA("cudaMemcpyAsync");
    return cuda_call(cuda.memcpy_async(dst_dev, src_host, len, CUDA_MEMCPY_HOST_TO_DEVICE, stream), "cudaMemcpyAsync(H2D)");
}

/* Synchronous device-to-host copy, for checks that read back what was sent. */
int ls_cuda_memcpy_d2h(void *dst_host, const void *src_dev, size_t len) {
    REQUIRE_CUDA("cudaMemcpy");
    return cuda_call(cuda.memcpy_(dst_host, src_dev, len, CUDA_MEMCPY_DEVICE_TO_HOST), "cudaMemcpy(D2H)");
}

/* ------------------------------------------------------------------ CUDA events */

/*
 * Records a new event on `stream` (0: the legacy default stream): it completes when every
 * operation queued on the stream before this call has run. The caller destroys it.
 */
int ls_cuda_event_record(void *stream, void **event_out) {
    REQUIRE_CUDA("cudaEventRecord");
    if (event_out == NULL) {
        set_error("cudaEventRecord: null out pointer");
        return LS_ERR_ARG;
    }
    void *ev = NULL;
    int rc = cuda_call(cuda.event_create(&ev, CUDA_EVENT_DISABLE_TIMING), "cudaEventCreateWithFlags");
    if (rc != LS_OK) {
        return rc;
    }
    rc = cuda_call(cuda.event_record(ev, stream), "cudaEventRecord");
    if (rc != LS_OK) {
        (void)cuda.event_destroy(ev);
        return rc;
    }
    *event_out = ev;
    return LS_OK;
}

/* 1 when the work before the event has run, 0 while it still runs, < 0 on an error. */
int ls_cuda_event_done(void *event) {
    REQUIRE_CUDA("cudaEventQuery");
    int rc = cuda.event_query(event);
    if (rc == 0) {
        return 1;
    }
    if (rc == CUDA_ERROR_NOT_READY) {
        cuda_clear();
        return 0;
    }
    return cuda_call(rc, "cudaEventQuery");
}

int ls_cuda_event_sync(void *event) {
    REQUIRE_CUDA("cudaEventSynchronize");
    return cuda_call(cuda.event_sync(event), "cudaEventSynchronize");
}

int ls_cuda_event_destroy(void *event) {
    REQUIRE_CUDA("cudaEventDestroy");
    return cuda_call(cuda.event_destroy(event), "cudaEventDestroy");
}

static void sleep_host_fn(void *arg) {
    size_t micros = (size_t)arg;
    struct timespec ts = {(time_t)(micros / 1000000), (long)(micros % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*
 * Queues a host function that sleeps `micros` on `stream`: later work on the stream waits
 * behind it. For tests and diagnostics that need an asynchronous copy to stay queued.
 */
int ls_cuda_stream_sleep(void *stream, size_t micros) {
    REQUIRE_CUDA("cudaLaunchHostFunc");
    return cuda_call(cuda.launch_host_func(stream, sleep_host_fn, (void *)micros), "cudaLaunchHostFunc");
}
