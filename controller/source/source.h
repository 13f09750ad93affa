/* src: fetching a DBSchema's changelog files — inline, ConfigMap or Git —
 * into a struct chlog_fs, and naming what was fetched (status.revision).
 *
 * Layer: below the DBSchema reconciler, beside changelog/.  The reconciler
 * does the Kubernetes I/O (reads the DBSchema, its ConfigMap and Secret from
 * the cache) and hands the JSON objects here; this module turns them into an
 * in-memory file map (chlog_fs_mem_*) that chlog_load() parses.  Only the Git
 * source does I/O of its own.
 *
 * Design choice — the git command line, not libgit2: the CLI speaks every
 * transport and protocol version the servers do, needs no extra C library,
 * and is safe when run the way it is here: posix_spawnp with an argv array
 * (never a shell), `--` before the URL, a URL that passed
 * src_git_validate_url() (scheme allow-list, no shell metacharacters, no
 * leading '-', no user:password@), a clean environment with
 * GIT_TERMINAL_PROMPT=0, no system/global config, GIT_ALLOW_PROTOCOL set to
 * the one scheme in use, and credentials passed as an http.extraHeader
 * through GIT_CONFIG_COUNT/KEY/VALUE — so they never appear in argv (ps),
 * in a file, or in our logs.  The cost: the image needs the git package.
 *
 * Revisions: Git sources are named by the fetched commit id (40 or 64 hex
 * digits).  Inline and ConfigMap sources by "sha256:" + chlog_revision() of
 * the files (sha256 over the files in bytewise path order, each as path NUL
 * length NUL bytes), so equal content gives an equal revision whatever the
 * key order in the object.
 *
 * Threads: every function is safe to call from several threads at once;
 * src_git_fetch() serialises fetches of the same URL with an flock on the
 * cache entry, and different URLs run in parallel. */
#ifndef TM_SOURCE_SOURCE_H
#define TM_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "changelog/chlog.h"
#include "common/err.h"

/* "sha256:" + 64 hex, or a 64-hex SHA-256 commit id, plus the NUL. */
#define SRC_REVISION_MAX 72

/* ---- The DBSchema spec ------------------------------------------------------ */

enum src_kind {
    SRC_KIND_INLINE = 0,
    SRC_KIND_CONFIGMAP,
    SRC_KIND_GIT,
};

/* spec.source.git, copied out of the JSON (all strings owned). */
struct src_git_spec {
    char *url;
    char *branch;        /* exactly one of branch, tag, commit is non-NULL */
    char *tag;
    char *commit;
    char *path;          /* "" = repository root; never NULL after parse */
    char *secret_name;   /* secretRef.name, NULL when none */
    int64_t interval_ms; /* default 60000 */
    int64_t timeout_ms;  /* default 60000 */
};

/* A parsed DBSchema .spec.  inline_files is borrowed from the JSON given to
 * src_spec_parse() and valid while that JSON lives; the rest is owned. */
struct src_spec {
    enum src_kind kind;
    const cJSON *inline_files; /* SRC_KIND_INLINE: the spec.source.inline.files object */
    char *configmap_name;      /* SRC_KIND_CONFIGMAP */
    struct src_git_spec git;   /* SRC_KIND_GIT */
    char *changelog;           /* entry file, default "changelog.yaml" */
    char *mount_path;          /* spec.mountPath: the folder the files sit in below the
                                  app's Liquibase search path (NULL = the root) */
    struct chlog_props props;  /* spec.properties: ${name} values for the changelog */
};

/* Reads a DBSchema's .spec object (not the whole DBSchema).  Checks again
 * what the CRD's schema and CEL rules check (exactly one source, exactly one
 * ref, URL, path and name shapes), so a spec that slipped past an old CRD
 * version is still refused.  TM_E_INVAL (TERMINAL) with a message naming the
 * field on bad input, TM_E_NOMEM.  On failure *out is released. */
enum tm_code src_spec_parse(const cJSON *spec, struct src_spec *out, struct tm_err *err)
    TM_MUST_CHECK;

/* Frees what src_spec_parse() copied; leaves *s zeroed. NULL ok. */
void src_spec_release(struct src_spec *s);

/* A short summary for status.source: "inline", "configmap/NAME" or
 * "URL@branch|tag|commit" (commit shortened to 12 digits).  malloc'd; NULL
 * on allocation failure. */
char *src_spec_summary(const struct src_spec *s);

/* Parses a Go-style duration ("90s", "1m30s", "1.5h", "250ms") into
 * milliseconds.  false on anything else, on a zero duration, or past 30 days. */
bool src_parse_duration_ms(const char *s, int64_t *ms);

/* ---- Inline and ConfigMap ------------------------------------------------- */

/* Fills a new mem fs (chlog_fs_mem_init) from spec.source.inline.files:
 * every member is one file, its key the path, its value (a JSON string) the
 * content.  On success the caller owns *fs (chlog_fs_mem_release); on
 * failure *fs is released.  TM_E_INVAL for a non-string value, an empty
 * map, or a key that is not a clean relative path; TM_E_TOOBIG past the caps. */
enum tm_code src_load_inline(const cJSON *files, struct chlog_fs *fs, struct tm_err *err)
    TM_MUST_CHECK;

/* The label a changelog ConfigMap must carry: the controller watches (and
 * caches) only ConfigMaps with SRC_CONFIGMAP_LABEL=SRC_CONFIGMAP_LABEL_VALUE,
 * not every ConfigMap of the cluster. */
#define SRC_CONFIGMAP_LABEL "tidemark.dev/changelog"
#define SRC_CONFIGMAP_LABEL_VALUE "true"
#define SRC_CONFIGMAP_SELECTOR SRC_CONFIGMAP_LABEL "=" SRC_CONFIGMAP_LABEL_VALUE

/* Fills a new mem fs from a ConfigMap object as the API returns it: every
 * key of .data is a file with that text, every key of .binaryData a file
 * with the base64-decoded bytes.  A key in both is TM_E_INVAL; no keys at
 * all is TM_E_NOTFOUND ("configmap NAME has no keys").  Ownership as above. */
enum tm_code src_load_configmap(const cJSON *configmap, struct chlog_fs *fs,
                                struct tm_err *err) TM_MUST_CHECK;

/* out = "sha256:" + chlog_revision(fs, "").  TM_E_* from reading the fs. */
enum tm_code src_content_revision(const struct chlog_fs *fs, char out[SRC_REVISION_MAX],
                                  struct tm_err *err) TM_MUST_CHECK;

/* ---- Git ------------------------------------------------------------------ */

/* Credentials for http(s), from the Secret named by git.secretRef: keys
 * "username" + "password" (HTTP Basic) or "bearerToken" (Bearer).  Never
 * logged; src_git_auth_release() wipes the memory. */
struct src_git_auth {
    char *username;
    char *password;
    char *bearer_token;
};

/* Reads a Secret object as the API returns it (.data values base64).
 * TM_E_INVAL (TERMINAL) when it holds neither username+password nor
 * bearerToken, or a value is not valid base64 or contains a control byte.
 * On failure *auth is released.  Messages name keys, never values. */
enum tm_code src_git_auth_from_secret(const cJSON *secret, struct src_git_auth *auth,
                                      struct tm_err *err) TM_MUST_CHECK;

/* Zeroes and frees the strings; *auth is left empty. NULL ok. */
void src_git_auth_release(struct src_git_auth *auth);

/* Checks a repository URL: scheme https, http, git (or file when
 * allow_file), then "://", a non-empty rest made only of
 * [A-Za-z0-9._~:/?#[]@!+,=%-], no credentials before the host, at most 2048
 * bytes.  Shell metacharacters ($ ` ; & | ' " ( ) < > \ space) never pass.
 * TM_E_INVAL with the reason. */
enum tm_code src_git_validate_url(const char *url, bool allow_file, struct tm_err *err)
    TM_MUST_CHECK;

/* True when s is a full Git commit id: 40 (SHA-1) or 64 (SHA-256)
 * lowercase hex digits.  NULL is not. */
bool src_git_is_commit_id(const char *s);

/* Checks a branch or tag name (git check-ref-format rules, plus no leading
 * '-') or a commit id (src_git_is_commit_id).  TM_E_INVAL. */
enum tm_code src_git_validate_ref(const char *branch, const char *tag, const char *commit,
                                  struct tm_err *err) TM_MUST_CHECK;

/* How the controller runs git. */
struct src_git_opts {
    const char *cache_dir; /* where bare repositories are kept, one per URL
                            * (<cache_dir>/<sha256(url)[:32]>.git); created if missing */
    const char *git;       /* git executable, looked up in PATH; NULL = "git" */
    bool allow_file;       /* accept file:// URLs (tests, local development) */
};

/* Fetches one ref of a repository (shallow, depth 1) into its cache entry
 * (a commit that a protocol-v0 server will not send by id: one full fetch of
 * its branches and tags instead),
 * then loads every regular file under spec->path from that commit into a new
 * mem fs (paths relative to spec->path; symlinks and submodules are
 * skipped).  revision gets the commit id.  auth (NULL = anonymous) is used
 * only for http(s).  The whole fetch is bounded by spec->timeout_ms: git is
 * killed (its whole process group) when it passes.
 * Errors (message chained "git fetch URL: ..."; never a credential):
 *   TM_E_INVAL     bad URL/ref/path                      TERMINAL
 *   TM_E_AUTH      the server refused the credentials    TERMINAL
 *   TM_E_NOTFOUND  no such repository, ref or path       TERMINAL
 *   TM_E_TIMEOUT   git did not finish in time            TRANSIENT
 *   TM_E_IO        anything else git or the OS reported  TRANSIENT
 *   TM_E_TOOBIG    files past TM_CAP_CHANGELOG_*         TERMINAL
 * On success the caller owns *fs (chlog_fs_mem_release); on failure *fs is
 * left released and revision empty. */
enum tm_code src_git_fetch(const struct src_git_opts *opts, const struct src_git_spec *spec,
                           const struct src_git_auth *auth, struct chlog_fs *fs,
                           char revision[SRC_REVISION_MAX], struct tm_err *err) TM_MUST_CHECK;

#endif
