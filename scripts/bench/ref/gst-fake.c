/* gst-fake.c - the graph benchmark's reference: GStreamer's `fakesrc ! fakesink` with N fixed
 * 64-byte zero-filled buffers, timed from PLAYING to EOS. The library is opened with dlopen and
 * the few calls are declared here, so only libgstreamer1.0-0 is needed (no -dev package).
 * Prints "<buffers per second>". Usage: gst-fake N */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    void *so = dlopen("libgstreamer-1.0.so.0", RTLD_NOW);
    void (*init)(int *, char ***);
    void *(*parse)(const char *, void **);
    int (*set_state)(void *, int);
    void *(*get_bus)(void *);
    void *(*pop)(void *, unsigned long long, int);
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char desc[256];
    struct timespec a, b;
    void *err = NULL, *pipe, *msg;
    if (so == NULL) {
        fprintf(stderr, "gst-fake: %s\n", dlerror());
        return 1;
    }
    *(void **)&init = dlsym(so, "gst_init");
    *(void **)&parse = dlsym(so, "gst_parse_launch");
    *(void **)&set_state = dlsym(so, "gst_element_set_state");
    *(void **)&get_bus = dlsym(so, "gst_element_get_bus");
    *(void **)&pop = dlsym(so, "gst_bus_timed_pop_filtered");
    init(NULL, NULL);
    snprintf(desc, sizeof desc,
             "fakesrc num-buffers=%ld sizetype=fixed sizemax=64 filltype=zero ! fakesink", n);
    pipe = parse(desc, &err);
    if (pipe == NULL) {
        fprintf(stderr, "gst-fake: cannot build the pipeline\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    set_state(pipe, 4);                                      /* GST_STATE_PLAYING */
    msg = pop(get_bus(pipe), (unsigned long long)-1, 1 | 2); /* EOS | ERROR */
    clock_gettime(CLOCK_MONOTONIC, &b);
    set_state(pipe, 1);                                      /* GST_STATE_NULL */
    if (msg == NULL)
        return 1;
    printf("%.0f\n", (double)n / ((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
    return 0;
}
