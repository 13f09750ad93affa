/* src git: fetch one ref of a Git repository with the git CLI and load a
 * folder of its tree into an in-memory chlog_fs (see source.h for the why).
 *
 * How a fetch runs (all under an flock on the cache entry, so one URL is
 * fetched by one thread at a time; different URLs run in parallel):
 *   1. <cache>/<sha256(url)[:32]>.git is a bare repository (git init once,
 *      into <entry>.init then renamed, so a killed init leaves no entry);
 *      stale *.lock files a killed git left behind are removed first.
 *   2. git fetch --depth=1 --no-tags -- URL +<ref>:refs/tidemark/fetched
 *      (<ref> = refs/heads/B, refs/tags/T or the commit id).  A server that
 *      refuses a commit no ref points at (protocol v0) gets one full fetch
 *      of its branches and tags instead, then the commit is looked up.
 *   3. git rev-parse refs/tidemark/fetched^{commit}  -> the revision.
 *   4. git ls-tree -r -z -l --full-tree REV          -> names, sizes, ids;
 *      caps are checked on the sizes before anything is read.
 *   5. git cat-file --batch < ids                    -> contents.
 * Every git runs through posix_spawnp with an argv array and a fresh
 * environment (no shell, no inherited GIT_* variables, no system or global
 * config), in its own process group so a timeout kills git and its
 * transport helpers together.  stdout is captured (bounded), stderr kept for
 * the error message; a credential is only ever in the child's environment.
 *
 * Not done here: ssh URLs, submodules, LFS, symlinks (skipped), sparse or
 * partial clones.  The cache grows by one shallow repository per URL; it is
 * not pruned. */
#define _GNU_SOURCE /* pipe2: close-on-exec pipes without a race against other spawns */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/caps.h"
#include "source/source.h"

extern char **environ;

#define GIT_URL_MAX 2048
#define GIT_STDERR_CAP (16u << 10)
#define GIT_ENV_MAX 40
#define GIT_FETCHED_REF "refs/tidemark/fetched"

/* ---- validation --------------------------------------------------------------- */

static const char *url_scheme_end(const char *url, bool allow_file, const char **scheme_out)
{
    static const char *const schemes[] = {"https", "http", "git", "file"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0) {
            if (i == 3 && !allow_file)
                return NULL;
            *scheme_out = schemes[i];
            return url + n + 3;
        }
    }
    return NULL;
}

enum tm_code src_git_validate_url(const char *url, bool allow_file, struct tm_err *err)
{
    if (!url || !*url)
        return tm_err_set(err, TM_E_INVAL, "repository url is empty");
    size_t n = strlen(url);
    if (n > GIT_URL_MAX)
        return tm_err_set(err, TM_E_INVAL, "repository url is longer than %d bytes", GIT_URL_MAX);
    if (url[0] == '-')
        return tm_err_set(err, TM_E_INVAL, "repository url must not start with '-'");
    const char *scheme = NULL;
    const char *rest = url_scheme_end(url, allow_file, &scheme);
    if (!rest)
        return tm_err_set(err, TM_E_INVAL,
                          allow_file ? "repository url must start with https://, http://, git:// "
                                       "or file://"
                                     : "repository url must start with https://, http:// or "
                                       "git://");
    if (!*rest)
        return tm_err_set(err, TM_E_INVAL, "repository url has no host or path");
    static const char ok[] = "._~:/?#[]@!+,=%-";
    for (const char *p = url; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr(ok, c))
            return tm_err_set(err, TM_E_INVAL,
                              "repository url contains a character that is not allowed "
                              "(byte 0x%02x at offset %zu)", c, (size_t)(p - url));
    }
    /* user:password@host: credentials belong in the Secret, never in a URL
     * that is logged and shown in status. */
    const char *slash = strchr(rest, '/');
    const char *at = strchr(rest, '@');
    if (at && (!slash || at < slash))
        return tm_err_set(err, TM_E_INVAL,
                          "repository url must not contain credentials (user@ or "
                          "user:password@); use secretRef");
    if (strcmp(scheme, "file") != 0 && (rest[0] == '/' || rest[0] == '-'))
        return tm_err_set(err, TM_E_INVAL, "repository url has no host");
    return TM_OK;
}

/* git check-ref-format rules for one name, plus: no leading '-', ASCII only. */
static bool ref_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '-' || s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.')
        return false;
    if (strstr(s, "..") || strstr(s, "//") || strstr(s, "@{") || strstr(s, "/.") ||
        s[0] == '.' || strcmp(s, "@") == 0)
        return false;
    if (n >= 5 && strcmp(s + n - 5, ".lock") == 0)
        return false;
    if (strstr(s, ".lock/"))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr("._/+-", c))
            return false;
    }
    return true;
}

bool src_git_is_commit_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n != 40 && n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

enum tm_code src_git_validate_ref(const char *branch, const char *tag, const char *commit,
                                  struct tm_err *err)
{
    int n = (branch != NULL) + (tag != NULL) + (commit != NULL);
    if (n != 1)
        return tm_err_set(err, TM_E_INVAL, "exactly one of branch, tag or commit must be set");
    if (branch && !ref_name_ok(branch))
        return tm_err_set(err, TM_E_INVAL, "branch \"%.255s\" is not a valid ref name", branch);
    if (tag && !ref_name_ok(tag))
        return tm_err_set(err, TM_E_INVAL, "tag \"%.255s\" is not a valid ref name", tag);
    if (commit && !src_git_is_commit_id(commit))
        return tm_err_set(err, TM_E_INVAL,
                          "commit must be a full 40- or 64-digit lowercase hex id");
    return TM_OK;
}

/* ---- running git ----------------------------------------------------------------- */

/* The child's environment: a fixed set plus a few inherited variables that
 * git legitimately needs (PATH, proxies, CA bundles).  Strings are owned. */
struct git_env {
    char *v[GIT_ENV_MAX + 1];
    size_t n;
    int nconfig;
};

static void env_release(struct git_env *e)
{
    for (size_t i = 0; i < e->n; i++) {
        volatile char *p = e->v[i];
        while (*p)
            *p++ = '\0'; /* may hold a credential */
        free(e->v[i]);
    }
    e->n = 0;
}

static enum tm_code env_add(struct git_env *e, const char *k, const char *v)
{
    if (e->n >= GIT_ENV_MAX)
        return TM_E_INTERNAL;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_addf(&b, "%s=%s", k, v);
    if (rc != TM_OK)
        return rc;
    e->v[e->n] = tm_buf_detach(&b, NULL);
    if (!e->v[e->n])
        return TM_E_NOMEM;
    e->n++;
    e->v[e->n] = NULL;
    return TM_OK;
}

static enum tm_code env_config(struct git_env *e, const char *key, const char *value)
{
    char k[48];
    snprintf(k, sizeof(k), "GIT_CONFIG_KEY_%d", e->nconfig);
    enum tm_code rc = env_add(e, k, key);
    snprintf(k, sizeof(k), "GIT_CONFIG_VALUE_%d", e->nconfig);
    if (rc == TM_OK)
        rc = env_add(e, k, value);
    e->nconfig++;
    return rc;
}

static enum tm_code auth_header(const struct src_git_auth *auth, struct tm_buf *h)
{
    if (auth->bearer_token)
        return tm_buf_addf(h, "Authorization: Bearer %s", auth->bearer_token);
    struct tm_buf raw;
    tm_buf_init(&raw, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_addf(&raw, "%s:%s", auth->username, auth->password);
    if (rc != TM_OK)
        return rc;
    size_t enc_len = 4 * ((raw.len + 2) / 3) + 1;
    unsigned char *enc = malloc(enc_len);
    if (!enc) {
        tm_buf_release(&raw);
        return TM_E_NOMEM;
    }
    EVP_EncodeBlock(enc, (const unsigned char *)raw.data, (int)raw.len);
    rc = tm_buf_addf(h, "Authorization: Basic %s", (const char *)enc);
    memset(enc, 0, enc_len);
    memset(raw.data, 0, raw.len);
    free(enc);
    tm_buf_release(&raw);
    return rc;
}

static enum tm_code env_build(struct git_env *e, const struct src_git_opts *o, const char *scheme,
                              const struct src_git_auth *auth)
{
    memset(e, 0, sizeof(*e));
    static const char *const inherit[] = {
        "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "http_proxy",
        "https_proxy",   "no_proxy",     "HTTP_PROXY",     "HTTPS_PROXY",    "NO_PROXY",
        "TMPDIR",
    };
    const char *path = getenv("PATH");
    enum tm_code rc = env_add(e, "PATH", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (size_t i = 0; rc == TM_OK && i < sizeof(inherit) / sizeof(inherit[0]); i++) {
        const char *v = getenv(inherit[i]);
        if (v && *v)
            rc = env_add(e, inherit[i], v);
    }
    const char *const fixed[][2] = {
        {"HOME", o->cache_dir},
        {"LC_ALL", "C"},
        {"GIT_TERMINAL_PROMPT", "0"},
        {"GIT_CONFIG_NOSYSTEM", "1"},
        {"GIT_CONFIG_GLOBAL", "/dev/null"},
        {"GIT_ALLOW_PROTOCOL", scheme},
        {"GIT_PROTOCOL_FROM_USER", "0"},
    };
    for (size_t i = 0; rc == TM_OK && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        rc = env_add(e, fixed[i][0], fixed[i][1]);
    /* no background gc/maintenance that would outlive our timeout, no
     * submodules, no credential helper that could prompt or store */
    static const char *const config[][2] = {
        {"gc.auto", "0"},
        {"maintenance.auto", "false"},
        {"fetch.recurseSubmodules", "false"},
        {"credential.helper", ""},
    };
    for (size_t i = 0; rc == TM_OK && i < sizeof(config) / sizeof(config[0]); i++)
        rc = env_config(e, config[i][0], config[i][1]);
    if (rc == TM_OK && auth) {
        struct tm_buf h;
        tm_buf_init(&h, TM_CAP_SMALL);
        rc = auth_header(auth, &h);
        if (rc == TM_OK)
            rc = env_config(e, "http.extraHeader", tm_buf_str(&h));
        if (h.data)
            memset(h.data, 0, h.len);
        tm_buf_release(&h);
    }
    if (rc == TM_OK) {
        char n[16];
        snprintf(n, sizeof(n), "%d", e->nconfig);
        rc = env_add(e, "GIT_CONFIG_COUNT", n);
    }
    if (rc != TM_OK)
        env_release(e);
    return rc;
}

struct git_run {
    const char *git;
    const struct git_env *env;
    const char *stdin_path; /* NULL = /dev/null */
    struct tm_buf *out;     /* stdout; TM_E_TOOBIG past its cap */
    struct tm_buf err;      /* stderr, truncated at GIT_STDERR_CAP */
    int64_t deadline;       /* tm_mono_ms() */
    int status;             /* exit code, -1 when killed by a signal */
};

/* Reads what fd has; false at EOF or on error.  Output past dst's cap sets
 * *overflow and is dropped. */
static bool drain(int fd, struct tm_buf *dst, bool truncate_ok, bool *overflow)
{
    char chunk[16384];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r <= 0)
            return false;
        if (*overflow)
            continue;
        if ((size_t)r > dst->cap - dst->len) {
            if (truncate_ok) {
                size_t room = dst->cap - dst->len;
                if (room && tm_buf_add(dst, chunk, room) != TM_OK) {
                    /* cannot happen: room fits the cap */
                }
            }
            *overflow = true;
            continue;
        }
        if (tm_buf_add(dst, chunk, (size_t)r) != TM_OK)
            *overflow = true;
    }
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

/* Starts git with argv in a process group of its own, default signal
 * handling, stdin from r->stdin_path (NULL: /dev/null) and stdout/stderr to
 * out_fd/err_fd.  *pid = the child, -1 when it did not start. */
static enum tm_code spawn_git(const struct git_run *r, char *const argv[], int out_fd, int err_fd,
                              pid_t *pid, struct tm_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    *pid = -1;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    enum tm_code rc = TM_OK;
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGINT);
    if (posix_spawn_file_actions_addopen(&fa, 0, r->stdin_path ? r->stdin_path : "/dev/null",
                                         O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF) != 0 ||
        posix_spawnattr_setpgroup(&attr, 0) != 0 || posix_spawnattr_setsigmask(&attr, &none) != 0 ||
        posix_spawnattr_setsigdefault(&attr, &def) != 0) {
        rc = tm_err_set(err, TM_E_INTERNAL, "posix_spawn setup failed");
        goto out;
    }
    int se = posix_spawnp(pid, r->git, &fa, &attr, argv, r->env->v);
    if (se != 0) {
        *pid = -1;
        rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "cannot run %s: %s", r->git,
                         strerror(se));
    }
out:
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* Reads the child's stdout into r->out and stderr into r->err until both
 * close.  TM_E_TIMEOUT at r->deadline, TM_E_TOOBIG when stdout passes its
 * cap (neither sets err: git_run words them), TM_E_IO when poll fails. */
static enum tm_code read_output(struct git_run *r, int out_fd, int err_fd, struct tm_err *err)
{
    fcntl(out_fd, F_SETFL, O_NONBLOCK);
    fcntl(err_fd, F_SETFL, O_NONBLOCK);
    bool out_open = true, err_open = true, out_over = false, err_over = false;
    while (out_open || err_open) {
        int64_t left = r->deadline - tm_mono_ms();
        if (left <= 0)
            return TM_E_TIMEOUT;
        struct pollfd pf[2];
        nfds_t np = 0;
        if (out_open)
            pf[np++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
        if (err_open)
            pf[np++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
        int pr = poll(pf, np, left > 1000 ? 1000 : (int)left);
        if (pr < 0 && errno != EINTR)
            return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "poll: %s", strerror(errno));
        if (out_open)
            out_open = drain(out_fd, r->out, false, &out_over);
        if (err_open)
            err_open = drain(err_fd, &r->err, true, &err_over);
        if (out_over)
            return TM_E_TOOBIG;
    }
    return TM_OK;
}

/* Waits for pid and sets r->status.  A child that is still running at
 * r->deadline is killed: rc then becomes TM_E_TIMEOUT; rc is returned
 * otherwise.  The wait is bounded too (a killed group exits at once). */
static enum tm_code reap(struct git_run *r, pid_t pid, enum tm_code rc)
{
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            return rc;
        }
        if (w < 0 && errno != EINTR)
            return rc;
        if (rc == TM_OK && tm_mono_ms() >= r->deadline) {
            rc = TM_E_TIMEOUT;
            kill_group(pid);
        }
        tm_sleep_ms(5);
    }
}

/* Runs git with argv, r->out and r->err emptied first; TM_OK when it ran to
 * completion (whatever its exit status, in r->status), TM_E_TIMEOUT when
 * killed at the deadline, TM_E_TOOBIG when stdout passed r->out's cap,
 * TM_E_IO when it could not run. */
static enum tm_code git_run(struct git_run *r, char *const argv[], struct tm_err *err)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    pid_t pid = -1;
    enum tm_code rc = TM_OK;
    r->status = -1;
    tm_buf_reset(r->out);
    tm_buf_reset(&r->err);
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "pipe: %s", strerror(errno));
        goto out;
    }
    rc = spawn_git(r, argv, outp[1], errp[1], &pid, err);
    if (rc != TM_OK)
        goto out;
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    rc = read_output(r, outp[0], errp[0], err);
    if (rc != TM_OK)
        kill_group(pid);
    /* reap, still bounded by the deadline (plus a grace period after a kill) */
    rc = reap(r, pid, rc);
    if (rc == TM_E_TIMEOUT)
        tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_TRANSIENT, "git did not finish in time");
    else if (rc == TM_E_TOOBIG)
        tm_err_set(err, TM_E_TOOBIG, "git output is larger than %zu bytes", r->out->cap);
out:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    return rc;
}

/* The last non-empty line of git's stderr, without "fatal: "/"error: ". */
static void last_line(const struct tm_buf *b, char *dst, size_t dstn)
{
    const char *s = tm_buf_str(b);
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    size_t start = n;
    while (start && s[start - 1] != '\n')
        start--;
    const char *p = s + start;
    size_t len = n - start;
    static const char *const pfx[] = {"fatal: ", "error: ", "remote: "};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(pfx[i]);
        if (len >= pl && strncmp(p, pfx[i], pl) == 0) {
            p += pl;
            len -= pl;
        }
    }
    snprintf(dst, dstn, "%.*s", (int)len, p);
}

/* Classifies a failed fetch by git's stderr (git has no machine-readable
 * errors; these phrases are stable across 2.x and used by other tools). */
static enum tm_code fetch_failed(const struct git_run *r, struct tm_err *err)
{
    const char *s = tm_buf_str(&r->err);
    char line[300];
    last_line(&r->err, line, sizeof(line));
    if (strstr(s, "Authentication failed") || strstr(s, "could not read Username") ||
        strstr(s, "could not read Password") || strstr(s, " 401") || strstr(s, " 403"))
        return tm_err_set(err, TM_E_AUTH, "authentication failed (check the secretRef): %s",
                          line);
    if (strstr(s, "couldn't find remote ref") || strstr(s, "not found") ||
        strstr(s, "does not appear to be a git repository") || strstr(s, "not our ref") ||
        strstr(s, "unadvertised object") || strstr(s, "No such file") ||
        strstr(s, "not exported") || strstr(s, "no such repository") ||
        strstr(s, "does not exist"))
        return tm_err_set(err, TM_E_NOTFOUND, "%s", line);
    return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "git exited with status %d: %s",
                       r->status, line);
}

/* ---- cache ------------------------------------------------------------------------------ */

static enum tm_code mkdir_p(const char *dir, struct tm_err *err)
{
    char *p = strdup(dir);
    if (!p)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    enum tm_code rc = TM_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "mkdir %s: %s", p,
                                 strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

static enum tm_code url_key(const char *url, char out[33])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    if (EVP_Digest(url, strlen(url), h, &hl, EVP_sha256(), NULL) != 1 || hl < 16)
        return TM_E_INTERNAL;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[32] = '\0';
    return TM_OK;
}

/* Takes the entry's flock, polling until the deadline. */
static enum tm_code lock_entry(const char *path, int64_t deadline, int *fd_out,
                               struct tm_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "open %s: %s", path,
                           strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            enum tm_code rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "flock %s: %s", path,
                                          strerror(errno));
            close(fd);
            return rc;
        }
        if (tm_mono_ms() >= deadline) {
            close(fd);
            return tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_TRANSIENT,
                               "another fetch of the same repository is still running");
        }
        tm_sleep_ms(20);
    }
    *fd_out = fd;
    return TM_OK;
}

/* We hold the entry's flock, so any lock file in the repository was left by
 * a git that was killed (timeout, crash): remove the ones fetch takes. */
static void remove_stale_locks(const char *repo)
{
    static const char *const locks[] = {"shallow.lock", "packed-refs.lock", "config.lock",
                                        "HEAD.lock", "refs/tidemark/fetched.lock"};
    char p[4096];
    for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
        if (snprintf(p, sizeof(p), "%s/%s", repo, locks[i]) < (int)sizeof(p))
            unlink(p);
    }
}

/* ---- ls-tree and cat-file ------------------------------------------------------------ */

struct tree_entry {
    char oid[65];
    char *rel;   /* path relative to spec->path */
    size_t size;
};

struct tree {
    struct tree_entry *v;
    size_t n, cap;
};

static void tree_release(struct tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].rel);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Copies the n bytes at p into dst as a C string; false when they do not
 * fit in dstn bytes. */
static bool copy_bounded(char *dst, size_t dstn, const char *p, size_t n)
{
    if (n >= dstn)
        return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

/* Parses `ls-tree -r -z -l` output ("<mode> <type> <oid> <size>\t<path>\0")
 * keeping the blobs under prefix (prefix "" or ending in '/'). */
static enum tm_code parse_tree(const struct tm_buf *out, const char *prefix, struct tree *t,
                               struct tm_err *err)
{
    size_t pl = strlen(prefix), total = 0;
    const char *p = tm_buf_str(out), *end = p + out->len;
    while (p < end) {
        const char *rec_end = memchr(p, '\0', (size_t)(end - p));
        const char *tab = rec_end ? memchr(p, '\t', (size_t)(rec_end - p)) : NULL;
        if (!tab)
            return tm_err_set(err, TM_E_IO, "git ls-tree: unexpected output");
        char mode[8], type[8], oid[65], size[24];
        char meta[160];
        if (!copy_bounded(meta, sizeof(meta), p, (size_t)(tab - p)) ||
            sscanf(meta, "%7s %7s %64s %23s", mode, type, oid, size) != 4)
            return tm_err_set(err, TM_E_IO, "git ls-tree: unexpected output");
        const char *path = tab + 1;
        p = rec_end + 1;
        /* regular files only: 120000 symlinks and 160000 submodules are skipped */
        if (strcmp(type, "blob") != 0 ||
            (strcmp(mode, "100644") != 0 && strcmp(mode, "100755") != 0))
            continue;
        if (pl && strncmp(path, prefix, pl) != 0)
            continue;
        char *endp = NULL;
        errno = 0;
        unsigned long long sz = strtoull(size, &endp, 10);
        if (errno || !endp || *endp)
            return tm_err_set(err, TM_E_IO, "git ls-tree: bad size for %s", path);
        if (sz > TM_CAP_CHANGELOG_FILE)
            return tm_err_set(err, TM_E_TOOBIG, "%s: file is larger than %u bytes", path,
                              (unsigned)TM_CAP_CHANGELOG_FILE);
        total += (size_t)sz;
        if (total > TM_CAP_CHANGELOG_TOTAL)
            return tm_err_set(err, TM_E_TOOBIG, "changelog files exceed %u bytes in total",
                              (unsigned)TM_CAP_CHANGELOG_TOTAL);
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 32;
            struct tree_entry *nv = realloc(t->v, nc * sizeof(*nv));
            if (!nv)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            t->v = nv;
            t->cap = nc;
        }
        struct tree_entry *e = &t->v[t->n];
        snprintf(e->oid, sizeof(e->oid), "%s", oid);
        e->size = (size_t)sz;
        e->rel = strdup(path + pl);
        if (!e->rel)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        t->n++;
    }
    return TM_OK;
}

/* Parses `cat-file --batch` output for the entries of t, in order, into fs. */
static enum tm_code parse_blobs(const struct tm_buf *out, const struct tree *t,
                                struct chlog_fs *fs, struct tm_err *err)
{
    const char *p = tm_buf_str(out), *end = p + out->len;
    for (size_t i = 0; i < t->n; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return tm_err_set(err, TM_E_IO, "git cat-file: output ends early");
        char hdr[128];
        if (!copy_bounded(hdr, sizeof(hdr), p, (size_t)(nl - p)))
            return tm_err_set(err, TM_E_IO, "git cat-file: unexpected output");
        char oid[65], type[16];
        unsigned long long sz = 0;
        if (sscanf(hdr, "%64s %15s %llu", oid, type, &sz) != 3 || strcmp(oid, t->v[i].oid) != 0 ||
            strcmp(type, "blob") != 0 || sz != t->v[i].size)
            return tm_err_set(err, TM_E_IO, "git cat-file: unexpected header \"%s\"", hdr);
        p = nl + 1;
        if ((size_t)(end - p) < sz + 1)
            return tm_err_set(err, TM_E_IO, "git cat-file: output ends early");
        enum tm_code rc = chlog_fs_mem_add(fs, t->v[i].rel, p, (size_t)sz, err);
        if (rc != TM_OK)
            return rc;
        p += sz + 1; /* content, then LF */
    }
    return TM_OK;
}

/* ---- fetch ------------------------------------------------------------------------------ */

/* One fetch in progress: the cache entry it holds the lock of, and the git
 * runner (r.out receives each step's stdout). */
struct fetch {
    const char *git;
    const char *repo; /* <cache>/<key>.git */
    const struct src_git_spec *spec;
    struct git_run r;
};

/* Runs a step whose failure is git's own (not the user's): a non-zero exit
 * reads "git <what>: <git's last stderr line>", TRANSIENT. */
static enum tm_code run_step(struct fetch *f, char *const argv[], const char *what,
                             struct tm_err *err)
{
    enum tm_code rc = git_run(&f->r, argv, err);
    if (rc == TM_OK && f->r.status != 0) {
        char line[300];
        last_line(&f->r.err, line, sizeof(line));
        rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "git %s: %s", what, line);
    }
    return rc;
}

/* Refuses what must never reach git: a bad URL, ref or path, credentials
 * for a non-http URL, a relative cache dir.  *scheme gets the URL's scheme. */
static enum tm_code check_request(const struct src_git_opts *opts,
                                  const struct src_git_spec *spec,
                                  const struct src_git_auth *auth, const char **scheme,
                                  struct tm_err *err)
{
    enum tm_code rc = src_git_validate_url(spec->url, opts->allow_file, err);
    if (rc == TM_OK)
        rc = src_git_validate_ref(spec->branch, spec->tag, spec->commit, err);
    if (rc != TM_OK)
        return rc;
    const char *path = spec->path ? spec->path : "";
    if (path[0] == '/' || path[0] == '-' || strstr(path, "..") || strchr(path, '\\'))
        return tm_err_set(err, TM_E_INVAL, "path \"%s\" must be relative, without '..'", path);
    url_scheme_end(spec->url, opts->allow_file, scheme);
    if (auth && strncmp(*scheme, "http", 4) != 0)
        return tm_err_set(err, TM_E_INVAL, "credentials can only be used with http(s) urls");
    if (!opts->cache_dir || opts->cache_dir[0] != '/')
        return tm_err_set(err, TM_E_INVAL, "git cache dir must be an absolute path");
    return TM_OK;
}

/* True when the repository has a file named name (e.g. "HEAD"). */
static bool repo_has(const struct fetch *f, const char *name)
{
    struct tm_buf p;
    tm_buf_init(&p, TM_CAP_SMALL);
    struct stat st;
    bool exists = tm_buf_addf(&p, "%s/%s", f->repo, name) == TM_OK &&
                  stat(tm_buf_str(&p), &st) == 0;
    tm_buf_release(&p);
    return exists;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes a directory tree (a partial repository), not following symlinks. */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Step 1: the bare repository, created on first use; lock files a killed
 * git left are removed (we hold the entry's lock).  git init runs into
 * <repo>.init, renamed to <repo> once it succeeded: a git init killed half
 * way (HEAD written, objects/ not yet) used to leave an entry that counted
 * as a repository, and every later fetch of the URL failed until someone
 * emptied the cache.  An entry without HEAD, objects/ or config (from such
 * a kill before this change) is removed and made again. */
static enum tm_code open_repo(struct fetch *f, struct tm_err *err)
{
    if (!repo_has(f, "HEAD") || !repo_has(f, "objects") || !repo_has(f, "config")) {
        struct tm_buf tmp;
        tm_buf_init(&tmp, TM_CAP_SMALL);
        if (tm_buf_addf(&tmp, "%s.init", f->repo) != TM_OK)
            return tm_err_set(err, TM_E_TOOBIG, "git cache dir path is too long");
        remove_tree(tm_buf_str(&tmp));
        remove_tree(f->repo);
        char *argv[] = {(char *)f->git, "init", "--bare", "--quiet", (char *)tm_buf_str(&tmp),
                        NULL};
        enum tm_code rc = run_step(f, argv, "init", err);
        if (rc == TM_OK && rename(tm_buf_str(&tmp), f->repo) != 0)
            rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "git cache: rename %s: %s",
                             tm_buf_str(&tmp), strerror(errno));
        tm_buf_release(&tmp);
        if (rc != TM_OK)
            return rc;
    }
    remove_stale_locks(f->repo);
    return TM_OK;
}

/* For a server that will not send a commit no ref points at (protocol v0
 * without uploadpack.allowAnySHA1InWant, as older servers run): fetch every
 * branch and tag with full history, then point our ref at the commit if it
 * arrived.  Costs a full clone, once; later fetches of the same URL are
 * incremental. */
static enum tm_code fetch_commit_the_long_way(struct fetch *f, struct tm_err *err)
{
    bool is_shallow = repo_has(f, "shallow");
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)f->git;
    argv[n++] = "-C";
    argv[n++] = (char *)f->repo;
    argv[n++] = "fetch";
    argv[n++] = "--quiet";
    argv[n++] = "--no-tags";
    argv[n++] = "--no-recurse-submodules";
    argv[n++] = "--force";
    if (is_shallow)
        argv[n++] = "--unshallow";
    argv[n++] = "--";
    argv[n++] = f->spec->url;
    argv[n++] = "+refs/heads/*:refs/tidemark/all/heads/*";
    argv[n++] = "+refs/tags/*:refs/tidemark/all/tags/*";
    argv[n] = NULL;
    enum tm_code rc = git_run(&f->r, argv, err);
    if (rc == TM_OK && f->r.status != 0)
        rc = fetch_failed(&f->r, err);
    if (rc != TM_OK)
        return rc;
    char *upd[] = {(char *)f->git, "-C", (char *)f->repo, "update-ref", "--no-deref",
                   GIT_FETCHED_REF, f->spec->commit, NULL};
    rc = git_run(&f->r, upd, err);
    if (rc == TM_OK && f->r.status != 0)
        rc = tm_err_set(err, TM_E_NOTFOUND,
                        "commit %s is not on any branch or tag of the repository",
                        f->spec->commit);
    return rc;
}

/* Step 2: the branch, tag or commit into GIT_FETCHED_REF, shallow. */
static enum tm_code fetch_ref(struct fetch *f, struct tm_err *err)
{
    const struct src_git_spec *spec = f->spec;
    struct tm_buf refspec;
    tm_buf_init(&refspec, TM_CAP_SMALL);
    enum tm_code rc;
    if (spec->branch)
        rc = tm_buf_addf(&refspec, "+refs/heads/%s:" GIT_FETCHED_REF, spec->branch);
    else if (spec->tag)
        rc = tm_buf_addf(&refspec, "+refs/tags/%s:" GIT_FETCHED_REF, spec->tag);
    else
        rc = tm_buf_addf(&refspec, "+%s:" GIT_FETCHED_REF, spec->commit);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "refspec too long");
    char *argv[] = {(char *)f->git,       "-C",        (char *)f->repo,
                    "fetch",              "--quiet",   "--no-tags",
                    "--no-recurse-submodules", "--depth=1", "--force",
                    "--",                 spec->url,   (char *)tm_buf_str(&refspec),
                    NULL};
    rc = git_run(&f->r, argv, err);
    if (rc == TM_OK && f->r.status != 0)
        rc = fetch_failed(&f->r, err);
    if (rc == TM_E_NOTFOUND && spec->commit)
        rc = fetch_commit_the_long_way(f, err);
    tm_buf_release(&refspec);
    return rc;
}

/* Step 3: the commit id GIT_FETCHED_REF points at, into revision; it must be
 * the commit asked for, when one was. */
static enum tm_code resolve_revision(struct fetch *f, char revision[SRC_REVISION_MAX],
                                     struct tm_err *err)
{
    char *argv[] = {(char *)f->git, "-C", (char *)f->repo, "rev-parse", "--verify",
                    "--quiet", GIT_FETCHED_REF "^{commit}", NULL};
    enum tm_code rc = git_run(&f->r, argv, err);
    if (rc == TM_OK && f->r.status != 0)
        return tm_err_set(err, TM_E_NOTFOUND, "fetched ref is not a commit");
    if (rc != TM_OK)
        return rc;
    const char *out = tm_buf_str(f->r.out);
    char id[SRC_REVISION_MAX];
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(out, "\r\n"), out);
    if (!src_git_is_commit_id(id))
        return tm_err_set(err, TM_E_IO, "git rev-parse: unexpected output");
    if (f->spec->commit && strcmp(id, f->spec->commit) != 0)
        return tm_err_set(err, TM_E_INTERNAL, "fetched commit %s, asked for %s", id,
                          f->spec->commit);
    memcpy(revision, id, strlen(id) + 1);
    return TM_OK;
}

/* Step 4: the regular files under spec->path at revision, sizes checked
 * against the caps before anything is read. */
static enum tm_code list_tree(struct fetch *f, const char *revision, struct tree *tree,
                              struct tm_err *err)
{
    const char *path = f->spec->path ? f->spec->path : "";
    char prefix[1100];
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/')
        pl--;
    if (pl >= sizeof(prefix) - 1)
        return tm_err_set(err, TM_E_INVAL, "path is too long");
    snprintf(prefix, sizeof(prefix), "%.*s%s", (int)pl, path, pl ? "/" : "");
    char *argv[] = {(char *)f->git, "-C", (char *)f->repo, "ls-tree", "-r", "-z",
                    "-l", "--full-tree", (char *)revision, NULL};
    enum tm_code rc = run_step(f, argv, "ls-tree", err);
    if (rc == TM_OK)
        rc = parse_tree(f->r.out, prefix, tree, err);
    if (rc == TM_OK && tree->n == 0)
        rc = tm_err_set(err, TM_E_NOTFOUND, "no files under \"%s\" in commit %s",
                        pl ? prefix : "/", revision);
    return rc;
}

/* Writes the object ids of tree to input_path, one a line, for cat-file. */
static enum tm_code write_ids(const char *input_path, const struct tree *tree,
                              struct tm_err *err)
{
    int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "open %s: %s", input_path,
                           strerror(errno));
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        close(fd);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < tree->n; i++)
        fprintf(fp, "%s\n", tree->v[i].oid);
    if (fclose(fp) != 0)
        return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "write %s: %s", input_path,
                           strerror(errno));
    return TM_OK;
}

/* Step 5: the contents of tree's files into fs (initialised here; released
 * again on failure), through one cat-file --batch fed from input_path. */
static enum tm_code read_files(struct fetch *f, const struct tree *tree, const char *input_path,
                               struct chlog_fs *fs, struct tm_err *err)
{
    enum tm_code rc = write_ids(input_path, tree, err);
    if (rc != TM_OK)
        return rc;
    char *argv[] = {(char *)f->git, "-C", (char *)f->repo, "cat-file", "--batch", NULL};
    f->r.stdin_path = input_path;
    rc = run_step(f, argv, "cat-file", err);
    f->r.stdin_path = NULL;
    if (rc != TM_OK)
        return rc;
    rc = chlog_fs_mem_init(fs);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "out of memory");
    rc = parse_blobs(f->r.out, tree, fs, err);
    if (rc != TM_OK)
        chlog_fs_mem_release(fs);
    return rc;
}

enum tm_code src_git_fetch(const struct src_git_opts *opts, const struct src_git_spec *spec,
                           const struct src_git_auth *auth, struct chlog_fs *fs,
                           char revision[SRC_REVISION_MAX], struct tm_err *err)
{
    revision[0] = '\0';
    memset(fs, 0, sizeof(*fs));
    struct git_env env = {0};
    struct tm_buf repo, lockp, inputp, out;
    struct tree tree = {0};
    struct fetch f = {.git = opts->git ? opts->git : "git", .spec = spec};
    int lockfd = -1;
    bool have_input = false;
    tm_buf_init(&repo, TM_CAP_SMALL);
    tm_buf_init(&lockp, TM_CAP_SMALL);
    tm_buf_init(&inputp, TM_CAP_SMALL);
    tm_buf_init(&out, TM_CAP_CHANGELOG_TOTAL + (4u << 20));
    tm_buf_init(&f.r.err, GIT_STDERR_CAP);
    f.r.git = f.git;
    f.r.env = &env;
    f.r.out = &out;
    f.r.deadline = tm_mono_ms() + (spec->timeout_ms > 0 ? spec->timeout_ms : 60000);

    const char *scheme = NULL;
    enum tm_code rc = check_request(opts, spec, auth, &scheme, err);
    if (rc != TM_OK)
        goto out;
    rc = env_build(&env, opts, scheme, auth);
    if (rc != TM_OK) {
        tm_err_set(err, rc, "cannot build git's environment");
        goto out;
    }
    char key[33];
    if (url_key(spec->url, key) != TM_OK) {
        rc = tm_err_set(err, TM_E_INTERNAL, "sha256 failed");
        goto out;
    }
    rc = mkdir_p(opts->cache_dir, err);
    if (rc != TM_OK)
        goto out;
    if (tm_buf_addf(&repo, "%s/%s.git", opts->cache_dir, key) != TM_OK ||
        tm_buf_addf(&lockp, "%s/%s.lock", opts->cache_dir, key) != TM_OK ||
        tm_buf_addf(&inputp, "%s/%s.git/tidemark-cat-input", opts->cache_dir, key) != TM_OK) {
        rc = tm_err_set(err, TM_E_TOOBIG, "git cache dir path is too long");
        goto out;
    }
    f.repo = tm_buf_str(&repo);
    rc = lock_entry(tm_buf_str(&lockp), f.r.deadline, &lockfd, err);
    if (rc == TM_OK)
        rc = open_repo(&f, err);
    if (rc == TM_OK)
        rc = fetch_ref(&f, err);
    if (rc == TM_OK)
        rc = resolve_revision(&f, revision, err);
    if (rc == TM_OK)
        rc = list_tree(&f, revision, &tree, err);
    if (rc == TM_OK) {
        have_input = true;
        rc = read_files(&f, &tree, tm_buf_str(&inputp), fs, err);
    }
out:
    if (have_input)
        unlink(tm_buf_str(&inputp));
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    if (rc != TM_OK) {
        revision[0] = '\0';
        tm_err_prefix(err, "git fetch %s", spec && spec->url ? spec->url : "?");
    }
    tree_release(&tree);
    env_release(&env);
    tm_buf_release(&repo);
    tm_buf_release(&lockp);
    tm_buf_release(&inputp);
    tm_buf_release(&out);
    tm_buf_release(&f.r.err);
    return rc;
}
