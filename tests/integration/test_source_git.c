/* Integration tests for src_git_fetch() against REAL Git servers on loopback:
 * `git daemon` (git://) and `git http-backend` behind a small HTTP front with
 * Basic/Bearer auth (tests/integration/source_git_http.py).  Each test makes
 * its own temporary repository, servers and cache, and removes them.
 * Needs git and python3 on PATH (hack/deps.sh installs both). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source/source.h"
#include "tm_test.h"

extern char **environ;

/* Like TM_ASSERT*, but jump to the test's `out:` so the fixture (servers,
 * temp dir) is always released. */
#define FX_ASSERT(cond)                                                          \
    do {                                                                         \
        if (!(cond)) {                                                           \
            TM_FAIL_("expected %s", #cond);                                      \
            goto out;                                                            \
        }                                                                        \
    } while (0)
#define FX_ASSERT_INT(actual, expected)                                          \
    do {                                                                         \
        long long a_ = (long long)(actual), e_ = (long long)(expected);          \
        if (a_ != e_) {                                                          \
            TM_FAIL_("%s: expected %lld, got %lld", #actual, e_, a_);            \
            goto out;                                                            \
        }                                                                        \
    } while (0)

#define USER "tidemark"
#define PASSWORD "pa55-w0rd-for-tests"
#define TOKEN "bearer-token-for-tests"

/* ---- process helpers ----------------------------------------------------------- */

/* Runs argv (no shell); captures stdout into out (NULL: discard).  Returns
 * the exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t outn)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    size_t len = 0;
    char buf[4096];
    ssize_t r;
    while ((r = read(p[0], buf, sizeof(buf))) > 0) {
        if (out && len + (size_t)r < outn) {
            memcpy(out + len, buf, (size_t)r);
            len += (size_t)r;
        }
    }
    if (out && outn)
        out[len] = '\0';
    close(p[0]);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...) run_capture((char *const[]){__VA_ARGS__, NULL}, NULL, 0)

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        TM_FAIL_("cannot write %s: %s", path, strerror(errno));
        return;
    }
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static bool can_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- fixture: a repository and its servers --------------------------------------- */

struct fx {
    char root[256];   /* temp dir */
    char repo[300];   /* root/repo: a non-bare repository, served by both servers */
    char cache[300];  /* root/cache: the fetch cache */
    pid_t daemon_pid;
    int daemon_port;
    pid_t http_pid;
    int http_port;
};

static bool git_in_repo(struct fx *f, char *const args[], char *out, size_t outn)
{
    char *argv[32] = {"git", "-C", f->repo, "-c", "user.name=Test", "-c",
                      "user.email=test@example.com", "-c", "commit.gpgsign=false"};
    int n = 9;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return run_capture(argv, out, outn) == 0;
}

#define GIT(f, ...) git_in_repo((f), (char *const[]){__VA_ARGS__, NULL}, NULL, 0)

/* Writes rel (under the repo) with text and commits everything. */
static bool commit_file(struct fx *f, const char *rel, const char *text, const char *msg)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", f->repo, rel);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        RUN("mkdir", "-p", dir);
    }
    write_file(path, text);
    return GIT(f, "add", "-A") && GIT(f, "commit", "-q", "-m", (char *)msg);
}

static void rev_parse(struct fx *f, const char *what, char out[SRC_REVISION_MAX])
{
    char buf[256] = "";
    git_in_repo(f, (char *const[]){"rev-parse", (char *)what, NULL}, buf, sizeof(buf));
    buf[strcspn(buf, "\r\n")] = '\0';
    snprintf(out, SRC_REVISION_MAX, "%.*s", SRC_REVISION_MAX - 1, buf);
}

static bool fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/tidemark-srcgit-XXXXXX");
    if (!mkdtemp(f->root)) {
        TM_FAIL_("mkdtemp: %s", strerror(errno));
        return false;
    }
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->root);
    snprintf(f->cache, sizeof(f->cache), "%s/cache", f->root);
    if (RUN("git", "init", "-q", "-b", "main", f->repo) != 0) {
        TM_FAIL_("git init failed");
        return false;
    }
    bool ok = commit_file(f, "db/changelog.yaml",
                          "databaseChangeLog:\n  - include: {file: sql/001-orders.sql}\n",
                          "changelog") &&
              commit_file(f, "db/sql/001-orders.sql", "create table orders(id int);\n", "orders") &&
              commit_file(f, "README.md", "not part of the changelog\n", "readme") &&
              GIT(f, "tag", "-a", "-m", "release 1", "v1.0.0");
    if (!ok)
        TM_FAIL_("could not build the test repository in %s", f->repo);
    return ok;
}

/* Starts git daemon on port (0: a free one). */
static bool fx_start_daemon_on(struct fx *f, int want_port)
{
    f->daemon_port = want_port ? want_port : free_port();
    char base[320], port[32];
    snprintf(base, sizeof(base), "--base-path=%s", f->root);
    snprintf(port, sizeof(port), "--port=%d", f->daemon_port);
    char *argv[] = {"git", "daemon", "--export-all", "--reuseaddr", "--informative-errors",
                    "--listen=127.0.0.1", port, base, f->root, NULL};
    char logp[400];
    snprintf(logp, sizeof(logp), "%s/daemon.log", f->root); /* readiness probes make it chatty */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    int rc = posix_spawnp(&f->daemon_pid, "git", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        f->daemon_pid = 0;
        TM_FAIL_("cannot start git daemon: %s", strerror(rc));
        return false;
    }
    for (int i = 0; i < 200; i++) { /* poll up to ~10 s */
        if (can_connect(f->daemon_port))
            return true;
        sleep_ms(50);
    }
    TM_FAIL_("git daemon did not listen on 127.0.0.1:%d", f->daemon_port);
    return false;
}

static bool fx_start_daemon(struct fx *f)
{
    return fx_start_daemon_on(f, 0);
}

/* Starts the http front; v0: make http-backend speak protocol v0. */
static bool fx_start_http_v(struct fx *f, bool v0)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    if (!src)
        return false;
    char script[600];
    snprintf(script, sizeof(script), "%s/tests/integration/source_git_http.py", src);
    int p[2];
    if (pipe(p) != 0)
        return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    char *argv[] = {"python3", script, f->root, USER, PASSWORD, TOKEN, v0 ? "v0" : NULL, NULL};
    int rc = posix_spawnp(&f->http_pid, "python3", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        f->http_pid = 0;
        TM_FAIL_("cannot start %s: %s", script, strerror(rc));
        return false;
    }
    char line[64] = "";
    size_t len = 0;
    while (len < sizeof(line) - 1) { /* "port N\n"; read blocks until the server listens */
        ssize_t r = read(p[0], line + len, 1);
        if (r <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(p[0]);
    if (sscanf(line, "port %d", &f->http_port) != 1) {
        TM_FAIL_("git http server did not report its port (got \"%s\")", line);
        return false;
    }
    return true;
}

static bool fx_start_http(struct fx *f)
{
    return fx_start_http_v(f, false);
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(-*pid, SIGTERM);
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

static void fx_release(struct fx *f)
{
    stop(&f->daemon_pid);
    stop(&f->http_pid);
    if (f->root[0])
        RUN("rm", "-rf", f->root);
}

static struct src_git_spec spec_for(const char *url, const char *branch, const char *tag,
                                    const char *commit, const char *path)
{
    return (struct src_git_spec){.url = (char *)url, .branch = (char *)branch,
                                 .tag = (char *)tag, .commit = (char *)commit,
                                 .path = (char *)path, .timeout_ms = 60000};
}

static char *fs_get(const struct chlog_fs *fs, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (!fs->read || fs->read(fs->ctx, path, &data, &len, NULL) != TM_OK)
        return NULL;
    return data;
}

/* ---- tests -------------------------------------------------------------------------- */

TM_TEST(git_daemon_fetches_branch_path_into_fs)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_daemon(&f))
        goto out;
    char url[128], want[SRC_REVISION_MAX], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", f.daemon_port);
    rev_parse(&f, "main", want);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db/");
    struct chlog_fs fs;
    struct tm_err e;
    enum tm_code rc = src_git_fetch(&o, &s, NULL, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, want);
    char *c = fs_get(&fs, "changelog.yaml");
    TM_EXPECT_CONTAINS(c, "include: {file: sql/001-orders.sql}");
    free(c);
    c = fs_get(&fs, "sql/001-orders.sql");
    TM_EXPECT_STR(c, "create table orders(id int);\n");
    free(c);
    c = fs_get(&fs, "README.md"); /* outside path: not loaded */
    TM_EXPECT(c == NULL);
    free(c);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_daemon_fetches_tag_and_commit)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_daemon(&f))
        goto out;
    char url[128], tagc[SRC_REVISION_MAX], first[SRC_REVISION_MAX], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", f.daemon_port);
    rev_parse(&f, "v1.0.0^{commit}", tagc);
    rev_parse(&f, "main~2", first); /* only db/changelog.yaml existed */
    /* the branch moves on after the tag: the tag must still give the tagged commit */
    FX_ASSERT(commit_file(&f, "db/sql/002-customers.sql", "create table customers(id int);\n",
                          "customers"));
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, NULL, "v1.0.0", NULL, "db");
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_OK);
    TM_EXPECT_STR(rev, tagc);
    char *c = fs_get(&fs, "sql/002-customers.sql");
    TM_EXPECT(c == NULL);
    free(c);
    chlog_fs_mem_release(&fs);

    s = spec_for(url, NULL, NULL, first, "db");
    enum tm_code rc = src_git_fetch(&o, &s, NULL, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch commit: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, first);
    c = fs_get(&fs, "changelog.yaml");
    TM_EXPECT(c != NULL);
    free(c);
    c = fs_get(&fs, "sql/001-orders.sql");
    TM_EXPECT(c == NULL);
    free(c);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_moved_branch_gives_new_revision)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_daemon(&f))
        goto out;
    char url[128], rev1[SRC_REVISION_MAX], rev2[SRC_REVISION_MAX], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", f.daemon_port);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev1, &e), TM_OK);
    chlog_fs_mem_release(&fs);
    FX_ASSERT(commit_file(&f, "db/sql/001-orders.sql", "create table orders(id bigint);\n",
                          "widen"));
    rev_parse(&f, "main", want);
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev2, &e), TM_OK);
    TM_EXPECT(strcmp(rev1, rev2) != 0);
    TM_EXPECT_STR(rev2, want);
    char *c = fs_get(&fs, "sql/001-orders.sql");
    TM_EXPECT_STR(c, "create table orders(id bigint);\n");
    free(c);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_missing_ref_or_path_is_not_found)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_daemon(&f))
        goto out;
    char url[128], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", f.daemon_port);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct chlog_fs fs;
    struct tm_err e;
    struct src_git_spec s = spec_for(url, "no-such-branch", NULL, NULL, "");
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(e.msg, "git fetch git://127.0.0.1:");
    TM_EXPECT_STR(rev, "");
    s = spec_for(url, "main", NULL, NULL, "no/such/dir");
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(e.msg, "no files under \"no/such/dir/\"");
    char other[128];
    snprintf(other, sizeof(other), "git://127.0.0.1:%d/nothing-here", f.daemon_port);
    s = spec_for(other, "main", NULL, NULL, "");
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_NOTFOUND);
out:
    fx_release(&f);
}

TM_TEST(git_http_basic_auth_fetches)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_http(&f))
        goto out;
    char url[128], want[SRC_REVISION_MAX], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo", f.http_port);
    rev_parse(&f, "main", want);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct src_git_auth a = {.username = USER, .password = PASSWORD};
    struct chlog_fs fs;
    struct tm_err e;
    enum tm_code rc = src_git_fetch(&o, &s, &a, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, want);
    char *c = fs_get(&fs, "sql/001-orders.sql");
    TM_EXPECT_STR(c, "create table orders(id int);\n");
    free(c);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_http_bearer_token_fetches)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_http(&f))
        goto out;
    char url[128], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo", f.http_port);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, NULL, "v1.0.0", NULL, "db");
    struct src_git_auth a = {.bearer_token = TOKEN};
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, &a, &fs, rev, &e), TM_OK);
    TM_EXPECT_INT(strlen(rev), 40);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_http_wrong_password_is_a_clear_auth_error)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_http(&f))
        goto out;
    char url[128], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo", f.http_port);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct src_git_auth a = {.username = USER, .password = "wrong-password-xyz"};
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_git_fetch(&o, &s, &a, &fs, rev, &e), TM_E_AUTH);
    TM_EXPECT_INT(e.retry, TM_RETRY_TERMINAL);
    TM_EXPECT_CONTAINS(e.msg, "authentication failed (check the secretRef)");
    TM_EXPECT_NOT_CONTAINS(e.msg, "wrong-password-xyz");
    TM_EXPECT(fs.ctx == NULL);
    /* no credentials at all: the same clear error, and no prompt that hangs */
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_AUTH);
    TM_EXPECT_CONTAINS(e.msg, "authentication failed");
out:
    fx_release(&f);
}

/* A stand-in for git that records its argv and environment, then runs git. */
static void write_spy(struct fx *f, char *spy, size_t n)
{
    snprintf(spy, n, "%s/spy-git", f->root);
    char text[1400];
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "printf '%%s\\n' \"$@\" >> '%s/argv.log'\n"
             "env >> '%s/env.log'\n"
             "touch '%s/spy-ran'\n"
             "exec git \"$@\"\n",
             f->root, f->root, f->root);
    write_file(spy, text);
    chmod(spy, 0700);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

TM_TEST(git_credentials_never_in_argv_only_in_child_env)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_http(&f))
        goto out;
    char spy[400], url[128], rev[SRC_REVISION_MAX], p[400];
    write_spy(&f, spy, sizeof(spy));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo", f.http_port);
    struct src_git_opts o = {.cache_dir = f.cache, .git = spy};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct src_git_auth a = {.username = USER, .password = PASSWORD};
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, &a, &fs, rev, &e), TM_OK);
    chlog_fs_mem_release(&fs);
    snprintf(p, sizeof(p), "%s/argv.log", f.root);
    char *argv_log = slurp(p);
    FX_ASSERT(argv_log != NULL);
    TM_EXPECT_CONTAINS(argv_log, "fetch");
    TM_EXPECT_CONTAINS(argv_log, "--\n");  /* end of options before the URL */
    TM_EXPECT_NOT_CONTAINS(argv_log, PASSWORD);
    /* base64("tidemark:pa55-w0rd-for-tests") */
    TM_EXPECT_NOT_CONTAINS(argv_log, "dGlkZW1hcms6cGE1NS13MHJkLWZvci10ZXN0cw==");
    TM_EXPECT_NOT_CONTAINS(argv_log, "Authorization");
    snprintf(p, sizeof(p), "%s/env.log", f.root);
    char *env_log = slurp(p);
    FX_ASSERT(env_log != NULL);
    TM_EXPECT_CONTAINS(env_log, "Authorization: Basic dGlkZW1hcms6cGE1NS13MHJkLWZvci10ZXN0cw==");
    TM_EXPECT_CONTAINS(env_log, "GIT_TERMINAL_PROMPT=0");
    TM_EXPECT_CONTAINS(env_log, "GIT_ALLOW_PROTOCOL=http\n");
out:
    fx_release(&f);
}

TM_TEST(git_injection_urls_are_rejected_before_git_runs)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    char spy[400], marker[400], pwned[400], rev[SRC_REVISION_MAX];
    write_spy(&f, spy, sizeof(spy));
    snprintf(marker, sizeof(marker), "%s/spy-ran", f.root);
    snprintf(pwned, sizeof(pwned), "%s/pwned", f.root);
    char bad[6][600];
    snprintf(bad[0], 600, "http://127.0.0.1/x;touch %s", pwned);
    snprintf(bad[1], 600, "http://127.0.0.1/$(touch %s)", pwned);
    snprintf(bad[2], 600, "http://127.0.0.1/`touch %s`", pwned);
    snprintf(bad[3], 600, "--upload-pack=touch %s", pwned);
    snprintf(bad[4], 600, "-c core.sshCommand=touch%%20%s", pwned);
    snprintf(bad[5], 600, "ext::sh -c touch%% %s", pwned);
    struct src_git_opts o = {.cache_dir = f.cache, .git = spy};
    for (int i = 0; i < 6; i++) {
        struct src_git_spec s = spec_for(bad[i], "main", NULL, NULL, "");
        struct chlog_fs fs;
        struct tm_err e;
        TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_INVAL);
        TM_EXPECT_INT(e.retry, TM_RETRY_TERMINAL);
    }
    /* a bad branch name is refused the same way */
    struct src_git_spec s = spec_for("http://127.0.0.1/x", "--upload-pack=touch", NULL, NULL, "");
    struct chlog_fs fs;
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, NULL), TM_E_INVAL);
    TM_EXPECT(!exists(marker));
    TM_EXPECT(!exists(pwned));
out:
    fx_release(&f);
}

TM_TEST(git_file_urls_need_allow_file)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    char url[400], rev[SRC_REVISION_MAX], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "file://%s", f.repo);
    rev_parse(&f, "main", want);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_E_INVAL);
    o.allow_file = true;
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_OK);
    TM_EXPECT_STR(rev, want);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_unresponsive_server_times_out)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    /* a socket that listens but never answers: git waits for the daemon's reply */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    FX_ASSERT(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s, 8) == 0 &&
              getsockname(s, (struct sockaddr *)&a, &al) == 0);
    char url[128], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", ntohs(a.sin_port));
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec sp = spec_for(url, "main", NULL, NULL, "");
    sp.timeout_ms = 700;
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_git_fetch(&o, &sp, NULL, &fs, rev, &e), TM_E_TIMEOUT);
    TM_EXPECT_INT(e.retry, TM_RETRY_TRANSIENT);
    TM_EXPECT_CONTAINS(e.msg, "did not finish in time");
    close(s);
    /* the killed git left nothing behind that stops the next fetch */
    char good[400], want[SRC_REVISION_MAX];
    snprintf(good, sizeof(good), "file://%s", f.repo);
    rev_parse(&f, "main", want);
    o.allow_file = true;
    sp = spec_for(good, "main", NULL, NULL, "db");
    FX_ASSERT_INT(src_git_fetch(&o, &sp, NULL, &fs, rev, &e), TM_OK);
    TM_EXPECT_STR(rev, want);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_same_url_fetches_again_after_a_timed_out_fetch)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    /* first the port answers nothing: git is killed at the deadline ... */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    FX_ASSERT(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s, 8) == 0 &&
              getsockname(s, (struct sockaddr *)&a, &al) == 0);
    int port = ntohs(a.sin_port);
    char url[128], rev[SRC_REVISION_MAX], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", port);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_spec sp = spec_for(url, "main", NULL, NULL, "db");
    sp.timeout_ms = 500;
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_git_fetch(&o, &sp, NULL, &fs, rev, &e), TM_E_TIMEOUT);
    close(s);
    /* ... then a real git daemon serves the same URL: the same cache entry works */
    if (!fx_start_daemon_on(&f, port))
        goto out;
    rev_parse(&f, "main", want);
    sp.timeout_ms = 60000;
    enum tm_code rc = src_git_fetch(&o, &sp, NULL, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch after timeout: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, want);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

TM_TEST(git_commit_that_no_ref_points_at_is_fetched_from_a_v0_server)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_http_v(&f, true))
        goto out;
    char url[128], first[SRC_REVISION_MAX], rev[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/repo", f.http_port);
    rev_parse(&f, "main~2", first); /* not a branch or tag tip */
    struct src_git_opts o = {.cache_dir = f.cache};
    struct src_git_auth a = {.username = USER, .password = PASSWORD};
    struct chlog_fs fs;
    struct tm_err e;
    /* a shallow fetch of the branch first, as a DBSchema on a branch would have done */
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    FX_ASSERT_INT(src_git_fetch(&o, &s, &a, &fs, rev, &e), TM_OK);
    chlog_fs_mem_release(&fs);
    s = spec_for(url, NULL, NULL, first, "db");
    enum tm_code rc = src_git_fetch(&o, &s, &a, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch commit from v0: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, first);
    char *c = fs_get(&fs, "changelog.yaml");
    TM_EXPECT(c != NULL);
    free(c);
    c = fs_get(&fs, "sql/001-orders.sql"); /* added by the next commit */
    TM_EXPECT(c == NULL);
    free(c);
    chlog_fs_mem_release(&fs);
    /* a commit that exists nowhere is still NOTFOUND */
    s = spec_for(url, NULL, NULL, "0123456789abcdef0123456789abcdef01234567", "db");
    TM_EXPECT_INT(src_git_fetch(&o, &s, &a, &fs, rev, &e), TM_E_NOTFOUND);
out:
    fx_release(&f);
}

/* We hold the cache entry's flock, so lock files in it were left by a git
 * that was killed (SIGKILL leaves them): the next fetch must not trip on them. */
/* The path of the one repository in the git cache (<cache>/<hash>.git) into out. */
static bool cache_entry(const char *cache, char *out, size_t n)
{
    out[0] = '\0';
    DIR *d = opendir(cache);
    if (!d)
        return false;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".git") == 0)
            snprintf(out, n, "%s/%s", cache, de->d_name);
    }
    closedir(d);
    return out[0] != '\0';
}

TM_TEST(git_stale_lock_files_left_by_a_killed_git_do_not_block_fetches)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    char url[400], rev[SRC_REVISION_MAX], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "file://%s", f.repo);
    struct src_git_opts o = {.cache_dir = f.cache, .allow_file = true};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_OK);
    chlog_fs_mem_release(&fs);
    /* find the entry (<cache>/<hash>.git) and leave the locks a killed fetch leaves */
    char entry[600];
    FX_ASSERT(cache_entry(f.cache, entry, sizeof(entry)));
    const char *locks[] = {"shallow.lock", "refs/tidemark/fetched.lock"};
    for (int i = 0; i < 2; i++) {
        char p[700];
        snprintf(p, sizeof(p), "%s/%s", entry, locks[i]);
        write_file(p, "");
    }
    FX_ASSERT(commit_file(&f, "db/sql/003-more.sql", "select 3;\n", "more"));
    rev_parse(&f, "main", want);
    enum tm_code rc = src_git_fetch(&o, &s, NULL, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch with stale locks: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, want);
    chlog_fs_mem_release(&fs);
out:
    fx_release(&f);
}

/* A git init killed after writing HEAD but before objects/ left an entry that counted as a
 * repository: every later fetch of the URL failed ("not a git repository") until the cache
 * was emptied by hand.  The entry is now made in <entry>.init and renamed; an incomplete one
 * (as an older tidemark left) is made again, and so is a leftover <entry>.init. */
TM_TEST(git_entry_left_by_a_killed_init_is_made_again)
{
    struct fx f;
    if (!fx_init(&f))
        goto out;
    char url[400], rev[SRC_REVISION_MAX], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "file://%s", f.repo);
    struct src_git_opts o = {.cache_dir = f.cache, .allow_file = true};
    struct src_git_spec s = spec_for(url, "main", NULL, NULL, "db");
    struct chlog_fs fs;
    struct tm_err e;
    FX_ASSERT_INT(src_git_fetch(&o, &s, NULL, &fs, rev, &e), TM_OK);
    chlog_fs_mem_release(&fs);
    char entry[600];
    FX_ASSERT(cache_entry(f.cache, entry, sizeof(entry)));
    /* what the kill left: the entry with HEAD only, and a half-made <entry>.init */
    char p[700];
    RUN("rm", "-rf", entry);
    RUN("mkdir", "-p", entry);
    snprintf(p, sizeof(p), "%s/HEAD", entry);
    write_file(p, "ref: refs/heads/master\n");
    snprintf(p, sizeof(p), "%s.init", entry);
    RUN("mkdir", "-p", p);
    snprintf(p, sizeof(p), "%s.init/HEAD", entry);
    write_file(p, "ref: refs/heads/master\n");
    rev_parse(&f, "main", want);
    enum tm_code rc = src_git_fetch(&o, &s, NULL, &fs, rev, &e);
    if (rc != TM_OK)
        fprintf(stderr, "fetch after a killed init: %s\n", e.msg);
    FX_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(rev, want);
    chlog_fs_mem_release(&fs);
    struct stat st;
    snprintf(p, sizeof(p), "%s.init", entry);
    TM_EXPECT(stat(p, &st) != 0); /* renamed into place, nothing left beside it */
    snprintf(p, sizeof(p), "%s/objects", entry);
    TM_EXPECT(stat(p, &st) == 0);
out:
    fx_release(&f);
}

struct fetch_job {
    const struct src_git_opts *o;
    struct src_git_spec spec;
    enum tm_code rc;
    char rev[SRC_REVISION_MAX];
    size_t files;
};

static void *fetch_thread(void *arg)
{
    struct fetch_job *j = arg;
    struct chlog_fs fs;
    j->rc = src_git_fetch(j->o, &j->spec, NULL, &fs, j->rev, NULL);
    if (j->rc == TM_OK) {
        char **names = NULL;
        size_t n = 0;
        if (fs.list(fs.ctx, "", &names, &n, NULL) == TM_OK) {
            j->files = n;
            for (size_t i = 0; i < n; i++)
                free(names[i]);
            free(names);
        }
        chlog_fs_mem_release(&fs);
    }
    return NULL;
}

TM_TEST(git_concurrent_fetches_of_one_url_all_succeed)
{
    struct fx f;
    if (!fx_init(&f) || !fx_start_daemon(&f))
        goto out;
    char url[128], want[SRC_REVISION_MAX];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/repo", f.daemon_port);
    rev_parse(&f, "main", want);
    struct src_git_opts o = {.cache_dir = f.cache};
    struct fetch_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct fetch_job){.o = &o};
        jobs[i].spec = spec_for(url, i % 2 ? "main" : NULL, i % 2 ? NULL : "v1.0.0", NULL, "db");
        TM_ASSERT(pthread_create(&th[i], NULL, fetch_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        TM_EXPECT_INT(jobs[i].rc, TM_OK);
        TM_EXPECT_STR(jobs[i].rev, want); /* v1.0.0 tags the head of main */
        TM_EXPECT_INT(jobs[i].files, 2);  /* changelog.yaml and sql/ */
    }
out:
    fx_release(&f);
}

TM_TEST_MAIN()
