/* sqlite_shared.c — the hot-lock workload of bench/run.py's "sqlite" row: threads share one SQLite connection
 * (Debian's libsqlite3, opened in serialized mode, SQLITE_OPEN_FULLMUTEX), so every call takes the connection's
 * recursive mutex, and each thread runs prepared statements on a small in-memory table (seven lookups, then one
 * update). One very hot mutex, several acquisitions per statement: the workload where lockprof must not lengthen
 * the program's critical sections (docs/PERFORMANCE.md, "Real programs").
 * Usage: sqlite_shared [threads, default 4] [statements per thread, default 200000]; prints nothing. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static sqlite3 *db;
static long iters;

static void *worker(void *arg)
{
    long id = (long)arg;
    sqlite3_stmt *sel, *upd;
    if (sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?", -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE kv SET v = v + 1 WHERE k = ?", -1, &upd, NULL) != SQLITE_OK)
        abort();
    unsigned x = (unsigned)id * 2654435761u + 1;
    for (long i = 0; i < iters; i++) {
        x = x * 1103515245u + 12345u;
        sqlite3_stmt *s = (i % 8 == 0) ? upd : sel;
        sqlite3_bind_int(s, 1, (int)(x % 1000));
        while (sqlite3_step(s) == SQLITE_ROW)
            (void)sqlite3_column_int(s, 0);
        sqlite3_reset(s);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    iters = argc > 2 ? atol(argv[2]) : 200000;
    if (n < 1 || n > 64 || iters < 0)
        return 2;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL))
        return 1;
    sqlite3_exec(db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0);
    sqlite3_exec(db, "BEGIN", 0, 0, 0);
    for (int i = 0; i < 1000; i++) {
        char q[80];
        snprintf(q, sizeof q, "INSERT INTO kv VALUES(%d, 0)", i);
        sqlite3_exec(db, q, 0, 0, 0);
    }
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    pthread_t t[64];
    for (long i = 0; i < n; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    sqlite3_close(db);
    return 0;
}
