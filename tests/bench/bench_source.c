/* Benchmarks for controller/source: how long the DBSchema reconciler spends
 * turning sources into a file map.  Prints figures; asserts only that each
 * step succeeded (no timed assertions).
 *   - inline: 1000 files of 1 KiB -> mem fs -> content revision
 *   - git:    a 500-file repository over file:// -> cold fetch (new cache),
 *             warm fetch (same commit again: what every poll interval costs) */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source/source.h"
#include "tm_test.h"

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run(char *const argv[])
{
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...) run((char *const[]){__VA_ARGS__, NULL})

TM_TEST(bench_inline_1000_files_to_fs_and_revision)
{
    cJSON *files = cJSON_CreateObject();
    char body[1025];
    memset(body, 'x', 1024);
    body[1024] = '\0';
    for (int i = 0; i < 1000; i++) {
        char name[64];
        snprintf(name, sizeof(name), "sql/%04d-change.sql", i);
        cJSON_AddStringToObject(files, name, body);
    }
    const int rounds = 20;
    double t0 = now_ms();
    for (int r = 0; r < rounds; r++) {
        struct chlog_fs fs;
        char rev[SRC_REVISION_MAX];
        TM_ASSERT_INT(src_load_inline(files, &fs, NULL), TM_OK);
        TM_ASSERT_INT(src_content_revision(&fs, rev, NULL), TM_OK);
        chlog_fs_mem_release(&fs);
    }
    double per = (now_ms() - t0) / rounds;
    printf("bench source inline: 1000 files x 1 KiB -> fs + sha256 revision: %.2f ms/op (%d rounds)\n",
           per, rounds);
    cJSON_Delete(files);
}

TM_TEST(bench_git_fetch_500_files_cold_and_warm)
{
    char root[] = "/tmp/tidemark-bench-src-XXXXXX";
    TM_ASSERT(mkdtemp(root) != NULL);
    char repo[128], cache[128], url[160];
    snprintf(repo, sizeof(repo), "%s/repo", root);
    snprintf(cache, sizeof(cache), "%s/cache", root);
    snprintf(url, sizeof(url), "file://%s", repo);
    TM_ASSERT(RUN("git", "init", "-q", "-b", "main", repo) == 0);
    char dir[200];
    snprintf(dir, sizeof(dir), "%s/db/sql", repo);
    TM_ASSERT(RUN("mkdir", "-p", dir) == 0);
    for (int i = 0; i < 500; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%04d.sql", dir, i);
        FILE *f = fopen(p, "w");
        TM_ASSERT(f != NULL);
        for (int k = 0; k < 20; k++)
            fprintf(f, "insert into t%d values (%d, 'row %d');\n", i, k, k);
        fclose(f);
    }
    TM_ASSERT(RUN("git", "-C", repo, "add", "-A") == 0);
    TM_ASSERT(RUN("git", "-C", repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit",
                  "-q", "-m", "bench") == 0);

    struct src_git_opts o = {.cache_dir = cache, .allow_file = true};
    struct src_git_spec s = {.url = url, .branch = "main", .path = "db", .timeout_ms = 120000};
    struct chlog_fs fs;
    char rev[SRC_REVISION_MAX];
    struct tm_err e;
    double t0 = now_ms();
    enum tm_code rc = src_git_fetch(&o, &s, NULL, &fs, rev, &e);
    double cold = now_ms() - t0;
    if (rc != TM_OK)
        fprintf(stderr, "fetch: %s\n", e.msg);
    TM_ASSERT_INT(rc, TM_OK);
    chlog_fs_mem_release(&fs);
    const int rounds = 10;
    t0 = now_ms();
    for (int r = 0; r < rounds; r++) {
        TM_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_OK);
        chlog_fs_mem_release(&fs);
    }
    double warm = (now_ms() - t0) / rounds;
    printf("bench source git: 500 files over file:// -> fs: cold %.1f ms, warm %.1f ms/op (%d rounds)\n",
           cold, warm, rounds);
    RUN("rm", "-rf", root);
}

TM_TEST_MAIN()
