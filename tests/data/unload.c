/* Loads the library given as argv[1] (tests/data/plugin.c), runs its contended worker, unloads it, and exits
 * normally: the profile written at exit describes a wait in a library that is no longer mapped. Prints
 * "unloaded" when dlclose unmapped the library, "still loaded" otherwise. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: unload LIBRARY\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "unload: %s\n", dlerror());
        return 1;
    }
    int (*run)(void) = (int (*)(void))dlsym(h, "plugin_run");
    if (!run) {
        fprintf(stderr, "unload: no plugin_run\n");
        return 1;
    }
    run();
    if (dlclose(h)) {
        fprintf(stderr, "unload: dlclose: %s\n", dlerror());
        return 1;
    }
    printf("%s\n", dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) ? "still loaded" : "unloaded");
    return 0;
}
