/* A stand-in for "some other LD_PRELOAD library the user already has": its constructor writes $MARKER_FILE. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void mark(void)
{
    const char *p = getenv("MARKER_FILE");
    if (p) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            close(fd);
    }
}
