/* tidemark hack/testapp/testapp.c — the tiny app that e2e tests and the demo roll out as real
 * pods. It needs a schema: its readiness probe (`testapp ready`) passes only when the column
 * $APP_COLUMN exists in table $APP_TABLE (schema $APP_SCHEMA, default public) of the database at
 * $DATABASE_URL, so "this app version needs the schema at tag T" is physically true. It can be
 * told to crash: with APP_CRASH=1 the container exits with status 1 at once and its probe always
 * fails (a broken version).
 *
 *   testapp          run: log what it needs, then wait for SIGTERM/SIGINT (exit 0)
 *   testapp ready    readiness probe: exit 0 if the column exists, 1 (with the reason) if not
 *
 * Image: localhost/tidemark/testapp:1, built by hack/image.sh from hack/testapp/Containerfile. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* 0 when the column exists; 1 with a message on stderr otherwise.  A crashing version is
 * never ready: its container lives a few milliseconds before it exits, and an exec probe
 * landing in them would otherwise pass, making the kubelet report the pod Ready and the
 * Deployment count it available (seen once in 14 runs of e2e.incluster_scenario). */
static int probe_column(void)
{
    if (strcmp(env_or("APP_CRASH", "0"), "1") == 0) {
        fprintf(stderr, "testapp ready: APP_CRASH=1: a crashing version is never ready\n");
        return 1;
    }
    const char *url = getenv("DATABASE_URL");
    const char *column = getenv("APP_COLUMN");
    if (!url || !column) {
        fprintf(stderr, "testapp ready: DATABASE_URL and APP_COLUMN must be set\n");
        return 1;
    }
    const char *params[3] = {env_or("APP_SCHEMA", "public"), env_or("APP_TABLE", "items"),
                             column};
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "testapp ready: cannot connect: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    PGresult *res = PQexecParams(conn,
                                 "SELECT 1 FROM information_schema.columns "
                                 "WHERE table_schema = $1 AND table_name = $2 "
                                 "AND column_name = $3",
                                 3, NULL, params, NULL, NULL, 0);
    int rc = 1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "testapp ready: query failed: %s", PQerrorMessage(conn));
    else if (PQntuples(res) == 0)
        fprintf(stderr, "testapp ready: column %s.%s.%s does not exist yet\n", params[0], params[1],
                params[2]);
    else
        rc = 0;
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static int run_until_stopped(void)
{
    if (strcmp(env_or("APP_CRASH", "0"), "1") == 0) {
        fprintf(stderr, "testapp: APP_CRASH=1: crashing on purpose\n");
        return 1;
    }
    fprintf(stderr, "testapp: running; ready once column %s.%s.%s exists\n",
            env_or("APP_SCHEMA", "public"), env_or("APP_TABLE", "items"),
            env_or("APP_COLUMN", "(APP_COLUMN unset)"));
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "testapp: stopping on signal %d\n", sig);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ready") == 0)
        return probe_column();
    if (argc > 1) {
        fprintf(stderr, "usage: testapp [ready]\n");
        return 2;
    }
    return run_until_stopped();
}
