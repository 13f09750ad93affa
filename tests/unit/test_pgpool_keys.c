/* Unit tests of pgpool's keys (no server): which connections count against one server's
 * limit, and which may share an idle connection. */
#include "engine/pgpool.h"
#include "tm_test.h"

static const char *skey(const struct pgx_params *p)
{
    static char out[1024];
    struct tm_err err;
    if (pgpool_server_key(p, out, sizeof(out), &err) != TM_OK)
        snprintf(out, sizeof(out), "ERROR %s", err.msg);
    return out;
}

static const char *ckey(const struct pgx_params *p)
{
    static char out[1400];
    struct tm_err err;
    if (pgpool_conn_key(p, out, sizeof(out), &err) != TM_OK)
        snprintf(out, sizeof(out), "ERROR %s", err.msg);
    return out;
}

TM_TEST(pool_server_key_takes_the_url_fields_overridden_by_discrete_ones)
{
    struct pgx_params a = {.url = "postgresql://u:secret@db1:5433/orders?sslmode=require"};
    TM_EXPECT_STR(skey(&a), "db1\x1f" "5433\x1fu\x1frequire");
    struct pgx_params b = {.url = "postgresql://u:secret@db1:5433/orders", .host = "db2",
                           .user = "v", .sslmode = "disable"};
    TM_EXPECT_STR(skey(&b), "db2\x1f" "5433\x1fv\x1f" "disable");
    struct pgx_params c = {.host = "db1", .port = "5432", .dbname = "x", .user = "u"};
    TM_EXPECT_STR(skey(&c), "db1\x1f" "5432\x1fu\x1f");
    struct pgx_params d = {.url = "host=db3 port=6000 user=w dbname=z"};
    TM_EXPECT_STR(skey(&d), "db3\x1f" "6000\x1fw\x1f");
    /* a plain database name is a database, not a server */
    struct pgx_params e = {.url = "orders", .host = "db1"};
    TM_EXPECT_STR(skey(&e), "db1\x1f\x1f\x1f");
}

TM_TEST(pool_server_name_is_host_and_port_with_libpq_defaults)
{
    char out[160];
    struct tm_err err;
    struct pgx_params a = {.url = "postgresql://u:secret@db1:5433/orders"};
    TM_EXPECT_INT(pgpool_server_name(&a, out, sizeof(out), &err), TM_OK);
    TM_EXPECT_STR(out, "db1:5433");
    struct pgx_params b = {.dbname = "orders", .user = "u"};
    TM_EXPECT_INT(pgpool_server_name(&b, out, sizeof(out), &err), TM_OK);
    TM_EXPECT_STR(out, "localhost:5432");
    struct pgx_params c = {.url = "postgresql://u@[bad"};
    TM_EXPECT_INT(pgpool_server_name(&c, out, sizeof(out), &err), TM_E_INVAL);
}

TM_TEST(pool_databases_of_one_server_share_its_key_but_not_connections)
{
    struct pgx_params a = {.host = "db1", .port = "5432", .user = "u", .dbname = "t1",
                           .password = "p1"};
    struct pgx_params b = a;
    b.dbname = "t2";
    char ka[1400];
    snprintf(ka, sizeof(ka), "%s", skey(&a));
    TM_EXPECT_STR(skey(&b), ka);
    snprintf(ka, sizeof(ka), "%s", ckey(&a));
    TM_EXPECT(strcmp(ckey(&b), ka) != 0);
}

TM_TEST(pool_connection_key_changes_with_the_password_and_never_holds_it)
{
    struct pgx_params a = {.url = "postgresql://u@db1/orders", .password = "hunter2-rotated"};
    struct pgx_params b = a;
    b.password = "hunter3-rotated";
    char ka[1400];
    snprintf(ka, sizeof(ka), "%s", ckey(&a));
    TM_EXPECT(strcmp(ckey(&b), ka) != 0);
    TM_EXPECT_NOT_CONTAINS(ka, "hunter2");
    /* the password inside a URL counts too, and stays out of the key */
    struct pgx_params c = {.url = "postgresql://u:hunter2-rotated@db1/orders"};
    TM_EXPECT_STR(ckey(&c), ka);
    TM_EXPECT_NOT_CONTAINS(ckey(&c), "hunter2");
    /* settings that change the session are part of the identity */
    struct pgx_params d = a;
    d.statement_timeout_ms = 5000;
    TM_EXPECT(strcmp(ckey(&d), ka) != 0);
}

TM_TEST(pool_a_url_libpq_rejects_is_a_clear_error_without_the_password)
{
    struct pgx_params a = {.url = "postgresql://u:hunter2@db1/orders?nosuchoption=1"};
    char out[256];
    struct tm_err err;
    TM_EXPECT_INT(pgpool_server_key(&a, out, sizeof(out), &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "nosuchoption");
    TM_EXPECT_NOT_CONTAINS(err.msg, "hunter2");
}

TM_TEST(pool_rejects_a_negative_limit)
{
    struct pgpool_opts o = {.max_per_server = -1};
    TM_EXPECT(pgpool_new(&o) == NULL);
    struct pgpool *p = pgpool_new(NULL);
    TM_EXPECT(p != NULL);
    pgpool_free(p);
}

TM_TEST_MAIN()
