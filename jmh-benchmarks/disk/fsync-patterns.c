/*
 * The disk under the file:// benchmarks, without Java: how fast this machine makes 1 MiB objects
 * durable in the patterns the producer could use, and what a commit's system calls cost. Each
 * object is written as FileStore writes it (a hidden temporary file, created O_EXCL, written,
 * made durable, published by link(2), the temporary name unlinked).
 *
 *   fsync-patterns objects MODE THREADS KIB COUNT DIR [GROUP]
 *       MODE fdatasync  every object fdatasynced by its writer (FileStore's way)
 *            direct     written with O_DIRECT from page-aligned memory, then fdatasynced
 *            syncfs     no per-object sync; one syncfs(2) per GROUP objects and at the end
 *            tmpfile    an unnamed O_TMPFILE in DIR, fdatasynced, published by linkat(2): no
 *                       temporary name to create and unlink (put-if-absent still: EEXIST)
 *            tmpfile-direct   the same with O_DIRECT
 *            falloc-direct    FileStore's way with O_DIRECT, the blocks fallocate(2)d first
 *       prints MB/s; run it under /usr/bin/time for the CPU it cost
 *   fsync-patterns commit N OVERLAP DIR
 *       N commits, each after one fdatasynced 1 MiB object: directory fsync, version temp file
 *       (2 KiB) written and fdatasynced, link(2), log-directory fsync; OVERLAP 1 runs the data
 *       directory's fsync on a second thread beside the version's write. Prints p50/p90/p99 ms.
 *
 * Build: gcc -O2 -pthread -o fsync-patterns fsync-patterns.c   (Linux; DIR must not exist)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void write_all(int fd, const char *b, size_t n) {
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0) die("write");
        off += (size_t) w;
    }
}

static void sync_path(const char *dir) {
    int d = open(dir, O_RDONLY);
    if (d < 0 || fsync(d) != 0) die("directory fsync");
    close(d);
}

/* ---- objects ---- */
enum { FDATASYNC, DIRECT, SYNCFS, TMPFILE, TMPFILE_DIRECT, FALLOC_DIRECT };
static int mode, size, count, group = 16, pending;
static int next_object;
static const char *dir;
static char *payload;
static int dir_fd;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *writer(void *unused) {
    char tmp[4096], name[4096];
    (void) unused;
    for (;;) {
        int i = __sync_fetch_and_add(&next_object, 1);
        if (i >= count) return NULL;
        snprintf(tmp, sizeof tmp, "%s/.o%d.tmp", dir, i);
        snprintf(name, sizeof name, "%s/o%d", dir, i);
        int direct = mode == DIRECT || mode == TMPFILE_DIRECT || mode == FALLOC_DIRECT ? O_DIRECT : 0;
        if (mode == TMPFILE || mode == TMPFILE_DIRECT) {
            int fd = open(dir, O_TMPFILE | O_WRONLY | direct, 0644);
            if (fd < 0) die("open O_TMPFILE");
            write_all(fd, payload, (size_t) size);
            if (fdatasync(fd) != 0) die("fdatasync");
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0) die("linkat");
            close(fd);
            continue;
        }
        int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | direct, 0644);
        if (fd < 0) die("open");
        if (mode == FALLOC_DIRECT && fallocate(fd, 0, 0, size) != 0) die("fallocate");
        write_all(fd, payload, (size_t) size);
        if (mode != SYNCFS && fdatasync(fd) != 0) die("fdatasync");
        close(fd);
        if (link(tmp, name) != 0) die("link");
        unlink(tmp);
        if (mode == SYNCFS) {
            pthread_mutex_lock(&mu);
            if (++pending >= group) {
                pending = 0;
                if (syncfs(dir_fd) != 0) die("syncfs");
            }
            pthread_mutex_unlock(&mu);
        }
    }
}

static int objects(int argc, char **argv) {
    if (argc < 7) return 2;
    const char *modes[] = {"fdatasync", "direct", "syncfs", "tmpfile", "tmpfile-direct", "falloc-direct"};
    mode = -1;
    for (int m = 0; m < (int) (sizeof modes / sizeof *modes); m++) {
        if (!strcmp(argv[2], modes[m])) mode = m;
    }
    int threads = atoi(argv[3]);
    size = atoi(argv[4]) << 10;
    count = atoi(argv[5]);
    dir = argv[6];
    if (argc > 7) group = atoi(argv[7]);
    if (mode < 0 || threads < 1 || threads > 64 || size < 4096 || size % 4096 || count < 1 || group < 1) return 2;
    payload = aligned_alloc(4096, (size_t) size);
    for (int i = 0; i < size; i++) payload[i] = (char) rand();
    if (mkdir(dir, 0755) != 0) die("mkdir");
    dir_fd = open(dir, O_RDONLY);
    pthread_t th[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, writer, NULL);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    if (mode == SYNCFS && syncfs(dir_fd) != 0) die("syncfs");
    double s = now() - t0;
    printf("%s threads=%d object=%d KiB objects=%d group=%d: %.1f MB/s\n", argv[2], threads, size >> 10, count, group,
           (double) size * count / s / 1e6);
    return 0;
}

/* ---- commit ---- */
static void *sync_dir_thread(void *path) {
    sync_path((const char *) path);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int commit(int argc, char **argv) {
    if (argc < 5) return 2;
    int n = atoi(argv[2]), overlap = atoi(argv[3]);
    const char *base = argv[4];
    if (n < 1) return 2;
    char data[4096], log[4096], tmp[4200], name[4200];
    static char object[1 << 20], version[2048];
    snprintf(data, sizeof data, "%s/data", base);
    snprintf(log, sizeof log, "%s/_log", base);
    if (mkdir(base, 0755) || mkdir(data, 0755) || mkdir(log, 0755)) die("mkdir");
    memset(object, 7, sizeof object);
    memset(version, 'v', sizeof version);
    double *ms = malloc((size_t) n * sizeof *ms);
    for (int i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, "%s/.o%d.tmp", data, i);
        snprintf(name, sizeof name, "%s/o%d", data, i);
        int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) die("open");
        write_all(fd, object, sizeof object);
        if (fdatasync(fd) != 0) die("fdatasync");
        close(fd);
        if (link(tmp, name) != 0) die("link");
        unlink(tmp);
        double t0 = now(); /* the commit: the object's name durable, then the version */
        pthread_t th;
        if (overlap) pthread_create(&th, NULL, sync_dir_thread, data);
        else sync_path(data);
        snprintf(tmp, sizeof tmp, "%s/.v%d.tmp", log, i);
        snprintf(name, sizeof name, "%s/%020d.json", log, i);
        fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) die("open");
        write_all(fd, version, sizeof version);
        if (fdatasync(fd) != 0) die("fdatasync");
        close(fd);
        if (overlap) pthread_join(th, NULL); /* both before the version is published */
        if (link(tmp, name) != 0) die("link");
        unlink(tmp);
        sync_path(log);
        ms[i] = (now() - t0) * 1e3;
    }
    qsort(ms, (size_t) n, sizeof *ms, by_value);
    printf("commit overlap=%d n=%d: p50 %.2f ms, p90 %.2f, p99 %.2f\n", overlap, n, ms[n / 2], ms[n * 9 / 10], ms[n * 99 / 100]);
    return 0;
}

int main(int argc, char **argv) {
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "objects")) rc = objects(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "commit")) rc = commit(argc, argv);
    if (rc == 2) {
        fprintf(stderr, "usage: %s objects fdatasync|direct|syncfs|tmpfile|tmpfile-direct|falloc-direct THREADS KIB COUNT DIR [GROUP]\n"
                        "       %s commit N OVERLAP(0|1) DIR\n", argv[0], argv[0]);
    }
    return rc;
}
