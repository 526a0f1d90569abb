/* fd2_reuse.c — a program that closes its stderr and reuses descriptor 2 for a data file, then writes "data\n" to
 * it. Under lockprof with an output directory that does not exist, the exit-time dump fails and lockprof warns:
 * the warning must reach the stderr the process started with, never the program's file.
 * Usage: fd2_reuse FILE */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    close(2);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != 2)
        return 1;
    return write(2, "data\n", 5) == 5 ? 0 : 1;
}
