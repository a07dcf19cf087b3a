/*
 * C-level checks of libls_shims, run once per forced mode by run-tests.sh:
 *   default  - CUDA if a runtime and device exist, else mlock (as root, or within ulimit -l)
 *   no-cuda  - LS_SHIMS_DISABLE_CUDA=1: mlock, and every CUDA entry says CUDA is absent
 *   none     - both switches: unpinned, with a reason
 * On a machine with CUDA the default run also round-trips a pinned buffer through the device.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ls_shims_version(void);
int ls_cuda_available(void);
int ls_pin_mode(void);
const char *ls_mode_reason(void);
const char *ls_last_error(void);
int ls_pin(void *addr, size_t len);
int ls_unpin(void *addr, size_t len, int mode);
int ls_cuda_stream_create(void **stream);
int ls_cuda_stream_sync(void *stream);
int ls_cuda_stream_destroy(void *stream);
int ls_cuda_malloc(void **dev, size_t len);
int ls_cuda_free(void *dev);
int ls_cuda_memcpy_h2d_async(void *dst, const void *src, size_t len, void *stream);
int ls_cuda_memcpy_d2h(void *dst, const void *src, size_t len);
int ls_cuda_event_record(void *stream, void **event);
int ls_cuda_event_done(void *event);
int ls_cuda_event_sync(void *event);
int ls_cuda_event_destroy(void *event);
int ls_cuda_stream_sleep(void *stream, size_t micros);

static int failures;
#define CHECK(cond, ...)                                           \
    do {                                                           \
        if (!(cond)) {                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                          \
            fprintf(stderr, "\n");                                 \
            failures++;                                            \
        }                                                          \
    } while (0)

static const char *mode_name(int m) {
    return m == 2 ? "CUDA" : m == 1 ? "MLOCK" : m == 0 ? "NONE" : "?";
}

static void cuda_round_trip(void *host, size_t len) {
    unsigned char *h = host;
    for (size_t i = 0; i < len; i++) {
        h[i] = (unsigned char)(i * 31 + 7);
    }
    void *stream = NULL;
    void *dev = NULL;
    unsigned char *back = calloc(1, len);
    CHECK(ls_cuda_stream_create(&stream) == 0, "stream create: %s", ls_last_error());
    CHECK(ls_cuda_malloc(&dev, len) == 0, "cudaMalloc: %s", ls_last_error());
    CHECK(ls_cuda_memcpy_h2d_async(dev, host, len, stream) == 0, "memcpy async: %s", ls_last_error());
    CHECK(ls_cuda_stream_sync(stream) == 0, "stream sync: %s", ls_last_error());
    CHECK(ls_cuda_memcpy_d2h(back, dev, len) == 0, "memcpy d2h: %s", ls_last_error());
    CHECK(memcmp(back, host, len) == 0, "device round trip changed the bytes");
    /* An event recorded behind a queued copy is not done until the copy ran. */
    void *ev = NULL;
    CHECK(ls_cuda_stream_sleep(stream, 300000) == 0, "stream sleep: %s", ls_last_error());
    CHECK(ls_cuda_memcpy_h2d_async(dev, host, len, stream) == 0, "memcpy async: %s", ls_last_error());
    CHECK(ls_cuda_event_record(stream, &ev) == 0, "event record: %s", ls_last_error());
    CHECK(ls_cuda_event_done(ev) == 0, "event done while the stream sleeps 300 ms");
    CHECK(ls_cuda_event_sync(ev) == 0, "event sync: %s", ls_last_error());
    CHECK(ls_cuda_event_done(ev) == 1, "event not done after its sync");
    CHECK(ls_cuda_event_destroy(ev) == 0, "event destroy: %s", ls_last_error());
    CHECK(ls_cuda_free(dev) == 0, "cudaFree: %s", ls_last_error());
    CHECK(ls_cuda_stream_destroy(stream) == 0, "stream destroy: %s", ls_last_error());
    free(back);
    printf("  cuda round trip of %zu bytes: %s\n", len, failures == 0 ? "ok" : "FAILED");
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "default";
    const size_t len = 1 << 20;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, len) != 0) {
        fprintf(stderr, "FAIL: cannot allocate the test buffer\n");
        return 1;
    }
    memset(buf, 0, len);
    CHECK(ls_shims_version() >= 1, "version %d", ls_shims_version());
    int preferred = ls_pin_mode();
    const char *reason = ls_mode_reason();
    CHECK(reason != NULL && reason[0] != '\0', "empty mode reason");

    int got = ls_pin(buf, len);
    printf("[%s] preferred %s (%s); pinned 1 MiB as %s%s%s\n", name, mode_name(preferred), reason, mode_name(got),
           got == 0 ? ": " : "", got == 0 ? ls_last_error() : "");
    CHECK(got <= preferred, "pin achieved %s above preferred %s", mode_name(got), mode_name(preferred));
    if (got == 0) {
        CHECK(ls_last_error()[0] != '\0', "unpinned without a reason in ls_last_error");
    }
    CHECK(ls_pin(NULL, 0) == 0, "pinning nothing must report NONE");
    CHECK(ls_last_error()[0] != '\0', "empty-range pin must set an error");

    if (strcmp(name, "none") == 0) {
        CHECK(preferred == 0 && got == 0, "forced none: preferred %s, got %s", mode_name(preferred), mode_name(got));
        CHECK(strstr(reason, "LS_SHIMS_DISABLE_MLOCK") != NULL, "reason should name the switch: %s", reason);
    } else if (strcmp(name, "no-cuda") == 0) {
        CHECK(preferred == 1, "forced no-cuda: preferred %s", mode_name(preferred));
        CHECK(strstr(reason, "LS_SHIMS_DISABLE_CUDA") != NULL, "reason should name the switch: %s", reason);
    }
    if (!ls_cuda_available()) {
        void *p = NULL;
        CHECK(ls_cuda_stream_create(&p) == -1, "stream create without CUDA must return -1");
        CHECK(strstr(ls_last_error(), "not available") != NULL, "error should say CUDA is absent: %s", ls_last_error());
        CHECK(ls_cuda_malloc(&p, 16) == -1, "cudaMalloc without CUDA must return -1");
        CHECK(ls_cuda_memcpy_h2d_async(NULL, buf, 16, NULL) == -1, "memcpy without CUDA must return -1");
        CHECK(ls_cuda_event_record(NULL, &p) == -1, "event record without CUDA must return -1");
        CHECK(ls_cuda_event_done(NULL) == -1, "event query without CUDA must return -1");
        CHECK(ls_cuda_stream_sleep(NULL, 1) == -1, "stream sleep without CUDA must return -1");
    } else {
        CHECK(preferred == 2, "CUDA available but preferred %s", mode_name(preferred));
        cuda_round_trip(buf, len);
    }
    CHECK(ls_unpin(buf, len, got) == 0, "unpin %s: %s", mode_name(got), ls_last_error());
    CHECK(ls_unpin(buf, len, 7) == -1, "unknown mode must fail");
    free(buf);
    printf("[%s] %s\n", name, failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
