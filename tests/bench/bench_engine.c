/* Benchmarks of the engine CLI against a real PostgreSQL (label bench):
 *   - apply 1,000 small changesets to an empty database with `tidemark update`,
 *     against the floor: psql running the same statements with the same
 *     number of commits (one transaction per changeset);
 *   - no-op `status` and `update` with the 1,000 applied;
 *   - peak RSS of each CLI run (wait4 rusage of the child).
 * Prints figures; asserts only that the runs did their work. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_pgdb.h"
#include "tm_test.h"

#define BENCH_N 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv with stdout/stderr to /dev/null; returns the exit code, the
 * wall time and the child's peak RSS (KiB). */
static int spawn(char *const argv[], const char *env_url, double *secs, long *rss_kb)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (env_url)
            setenv("TIDEMARK_DB_URL", env_url, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    wait4(pid, &status, 0, &ru);
    *secs = now_s() - t0;
    *rss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *db_url(const char *name)
{
    const char *base = getenv("TIDEMARK_PG_URL");
    const char *slash = strrchr(base, '/');
    size_t n = (size_t)(slash - base) + 1 + strlen(name) + 1;
    char *u = malloc(n);
    snprintf(u, n, "%.*s/%s", (int)(slash - base), base, name);
    return u;
}

TM_TEST(bench_apply_1000_changesets_vs_psql_floor)
{
    const char *bin = tm_test_env("TIDEMARK_BIN");
    TM_ASSERT(bin != NULL);
    struct pgdb a, b;
    TM_ASSERT(pgdb_open(&a, "bench_tm"));
    TM_ASSERT(pgdb_open(&b, "bench_psql"));
    char dir[] = "/tmp/tm_bench_XXXXXX";
    TM_ASSERT(mkdtemp(dir) != NULL);
    char cl_path[256], psql_path[256];
    snprintf(cl_path, sizeof(cl_path), "%s/changelog.sql", dir);
    snprintf(psql_path, sizeof(psql_path), "%s/floor.sql", dir);
    FILE *cl = fopen(cl_path, "w"), *fl = fopen(psql_path, "w");
    TM_ASSERT(cl && fl);
    fprintf(cl, "--liquibase formatted sql\n\n");
    for (int i = 0; i < BENCH_N; i++) {
        fprintf(cl, "--changeset bench:%d\nCREATE TABLE t%d (id int PRIMARY KEY, v text);\n"
                    "--rollback DROP TABLE t%d;\n\n",
                i, i, i);
        fprintf(fl, "BEGIN;\nCREATE TABLE t%d (id int PRIMARY KEY, v text);\nCOMMIT;\n", i);
    }
    fclose(cl);
    fclose(fl);
    char *ua = db_url(a.name), *ub = db_url(b.name);
    double t_tm, t_psql, t_status, t_noop;
    long rss_apply, rss_psql, rss_status, rss_noop;

    char *psql_argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ub, "-f", psql_path,
                         NULL};
    TM_EXPECT_INT(spawn(psql_argv, NULL, &t_psql, &rss_psql), 0);
    char *upd[] = {(char *)bin, "update", "--changelog", cl_path, NULL};
    TM_EXPECT_INT(spawn(upd, ua, &t_tm, &rss_apply), 0);
    TM_EXPECT_STR(pgdb_val(a.c, "SELECT count(*) FROM databasechangelog"), "1000");
    TM_EXPECT_STR(pgdb_val(b.c, "SELECT count(*) FROM pg_tables WHERE tablename ~ '^t[0-9]+$'"),
                  "1000");

    /* no-op runs: best of 5 (the first may warm caches) */
    char *st[] = {(char *)bin, "status", "--changelog", cl_path, NULL};
    t_status = t_noop = 1e9;
    rss_status = rss_noop = 0;
    for (int k = 0; k < 5; k++) {
        double t;
        long r;
        TM_EXPECT_INT(spawn(st, ua, &t, &r), 0);
        if (t < t_status)
            t_status = t;
        if (r > rss_status)
            rss_status = r;
        TM_EXPECT_INT(spawn(upd, ua, &t, &r), 0);
        if (t < t_noop)
            t_noop = t;
        if (r > rss_noop)
            rss_noop = r;
    }
    TM_EXPECT_STR(pgdb_val(a.c, "SELECT count(*) FROM databasechangelog"), "1000");

    printf("bench engine: apply %d changesets from empty\n", BENCH_N);
    printf("  tidemark update        %8.3f s  (%.2f ms/changeset)  peak RSS %ld KiB\n", t_tm,
           t_tm * 1000.0 / BENCH_N, rss_apply);
    printf("  psql floor (%d commits) %7.3f s  (%.2f ms/changeset)  peak RSS %ld KiB\n", BENCH_N,
           t_psql, t_psql * 1000.0 / BENCH_N, rss_psql);
    printf("  ratio tidemark/psql    %8.2fx  (target <= 1.5x)\n", t_tm / t_psql);
    printf("  no-op status  (1000 applied) %7.1f ms  peak RSS %ld KiB  (target <= 50 ms)\n",
           t_status * 1000.0, rss_status);
    printf("  no-op update  (1000 applied) %7.1f ms  peak RSS %ld KiB  (target <= 50 ms)\n",
           t_noop * 1000.0, rss_noop);
    fflush(stdout);

    unlink(cl_path);
    unlink(psql_path);
    rmdir(dir);
    free(ua);
    free(ub);
    pgdb_close(&a);
    pgdb_close(&b);
}

TM_TEST_MAIN()
