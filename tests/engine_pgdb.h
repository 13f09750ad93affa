/* engine_pgdb: a fresh PostgreSQL database per test, on the server that
 * hack/postgres.sh runs (TIDEMARK_PG_URL).  pgdb_open() creates
 * tm_<test>_<pid> and connects to it; pgdb_close() disconnects and drops it
 * (WITH (FORCE): no stray session can keep it alive). */
#ifndef TM_TESTS_ENGINE_PGDB_H
#define TM_TESTS_ENGINE_PGDB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "tm_test.h"

/* Generous: under valgrind on a busy machine SCRAM authentication alone can
 * take seconds. */
#define PGDB_CONNECT_TIMEOUT_S 120

struct pgdb {
    char name[64];
    struct pgx_conn *admin; /* on the server's default database */
    struct pgx_conn *c;     /* on the test database */
};

/* A connection to the test database with its own application_name. */
static inline struct pgx_conn *pgdb_connect(const struct pgdb *d, const char *app)
{
    struct pgx_params p = {0};
    struct tm_err err;
    p.url = getenv("TIDEMARK_PG_URL");
    p.dbname = d->name;
    p.application_name = app;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    struct pgx_conn *c = pgx_conn_new(&p, &err);
    if (!c)
        fprintf(stderr, "connect %s: %s\n", d->name, err.msg);
    return c;
}

static inline bool pgdb_open(struct pgdb *d, const char *test)
{
    memset(d, 0, sizeof(*d));
    const char *url = tm_test_env("TIDEMARK_PG_URL");
    if (!url)
        return false;
    snprintf(d->name, sizeof(d->name), "tm_%.40s_%ld", test, (long)getpid());
    struct pgx_params p = {0};
    struct tm_err err;
    char sql[200];
    p.url = url;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    d->admin = pgx_conn_new(&p, &err);
    if (!d->admin) {
        fprintf(stderr, "connect admin: %s\n", err.msg);
        return false;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
    if (pgx_exec(d->admin, sql, &err) != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", d->name);
    if (pgx_exec(d->admin, sql, &err) != TM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    d->c = pgdb_connect(d, "tidemark-test");
    return d->c != NULL;
}

static inline void pgdb_close(struct pgdb *d)
{
    struct tm_err err;
    char sql[200];
    pgx_conn_free(d->c);
    d->c = NULL;
    if (d->admin) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
        if (pgx_exec(d->admin, sql, &err) != TM_OK)
            fprintf(stderr, "drop %s: %s\n", d->name, err.msg);
    }
    pgx_conn_free(d->admin);
    d->admin = NULL;
}

/* The first value of a query as a static string ("(null)" for NULL, "(error: ..)"). */
static inline const char *pgdb_val(struct pgx_conn *c, const char *sql)
{
    static char buf[1024];
    struct tm_err err;
    char *v = NULL;
    if (pgx_query_value(c, sql, 0, NULL, &v, &err) != TM_OK) {
        snprintf(buf, sizeof(buf), "(error: %s)", err.msg);
        return buf;
    }
    snprintf(buf, sizeof(buf), "%s", v ? v : "(null)");
    free(v);
    return buf;
}

static inline void pgdb_exec(struct pgx_conn *c, const char *sql)
{
    struct tm_err err;
    if (pgx_exec(c, sql, &err) != TM_OK)
        TM_FAIL_("exec %s: %s", sql, err.msg);
}

#endif
