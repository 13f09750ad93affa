/* Table tests of dbschema_decide: fetch/parse results in, status out. */
#include "../tm_test.h"

#include <stdio.h>

#include "reconcilers/dbschema.h"

#define NOW 1700000000000LL

static const char *const tags[] = {"v1", "v2"};
static const struct dbschema_instance insts[] = {
    {.name = "orders-dev", .applied_tag = "v2", .pending = 0, .ready = "True"},
    {.name = "orders-prod", .applied_tag = "v1", .pending = 3, .ready = "True"},
};

static struct dbschema_observed base(void)
{
    struct dbschema_observed o;
    memset(&o, 0, sizeof(o));
    o.generation = 1;
    o.status.changesets = -1;
    o.source = "inline";
    o.fetched = true;
    o.parsed = true;
    o.revision = "sha256:abc";
    o.tags = tags;
    o.ntags = 2;
    o.changesets = 5;
    o.instances = insts;
    o.ninstances = 2;
    return o;
}

static const char *reason(const struct dbschema_plan *p, const char *type)
{
    const struct cond *c = cond_find(&p->status.conds, type);
    return c ? c->reason : NULL;
}

TM_TEST(schema_ready_lists_tags_in_order_and_instance_matrix)
{
    struct dbschema_observed o = base();
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT_STR(p.status.revision, "sha256:abc");
    TM_ASSERT_INT(p.status.ntags, 2);
    TM_EXPECT_STR(p.status.tags[0], "v1");
    TM_EXPECT_STR(p.status.tags[1], "v2");
    TM_EXPECT_INT(p.status.changesets, 5);
    TM_ASSERT_INT(p.status.ninstances, 2);
    TM_EXPECT_STR(p.status.instances[1].name, "orders-prod");
    TM_EXPECT_INT(p.status.instances[1].pending, 3);
    TM_EXPECT_INT(p.status.last_fetch_ms, NOW);
    TM_EXPECT_INT(p.requeue_ms, 0); /* inline: watches wake us */
    TM_ASSERT_INT(p.nevents, 1);
    TM_EXPECT_STR(p.events[0].reason, "NewRevision");
}

TM_TEST(schema_new_revision_with_tolerated_quirks_warns_once)
{
    struct dbschema_observed o = base();
    o.nwarnings = 2;
    o.warning = "m.yaml:2: unknown entry 'inlude' in databaseChangeLog; ignored, as Liquibase does";
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_READY));
    TM_ASSERT_INT(p.nevents, 2);
    TM_EXPECT_STR(p.events[1].reason, "ChangelogWarnings");
    TM_EXPECT(p.events[1].warning);
    TM_EXPECT_CONTAINS(p.events[1].note, "2 warning(s)");
    TM_EXPECT_CONTAINS(p.events[1].note, "m.yaml:2: unknown entry 'inlude'");
    /* the same revision again: no event */
    o.status.revision = "sha256:abc";
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.nevents, 0);
}

TM_TEST(schema_parse_error_is_stalled_with_file_and_line)
{
    struct dbschema_observed o = base();
    o.parsed = false;
    o.parse_error = "changelog.yaml:12:3: mapping values are not allowed here";
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_STALLED));
    TM_EXPECT_STR(reason(&p, COND_STALLED), "ParseFailed");
    TM_EXPECT_CONTAINS(cond_find(&p.status.conds, COND_STALLED)->message, "changelog.yaml:12:3");
    TM_EXPECT(!cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT(cond_find(&p.status.conds, COND_RECONCILING) == NULL);
    TM_EXPECT_INT(p.requeue_ms, 0);
    TM_ASSERT_INT(p.nevents, 1);
    TM_EXPECT(p.events[0].warning);
}

TM_TEST(schema_parse_error_keeps_last_good_tags)
{
    struct dbschema_observed o = base();
    struct dbschema_plan good, bad;
    dbschema_decide(&o, NOW, &good);
    o.status = good.status;
    o.parsed = false;
    o.revision = "sha256:def";
    o.tags = NULL;
    o.ntags = 0;
    o.parse_error = "x.sql:1: bad";
    dbschema_decide(&o, NOW + 1, &bad);
    TM_EXPECT_STR(bad.status.revision, "sha256:abc");
    TM_EXPECT_INT(bad.status.ntags, 2);
}

TM_TEST(schema_git_source_requeues_on_its_interval)
{
    struct dbschema_observed o = base();
    o.git = true;
    o.interval_ms = 60000;
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.requeue_ms, 60000);
    o.parsed = false;
    o.parse_error = "a.yaml:1:1: bad";
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.requeue_ms, 60000); /* a new commit may fix it */
}

TM_TEST(schema_transient_fetch_error_backs_off)
{
    struct dbschema_observed o = base();
    o.git = true;
    o.interval_ms = 60000;
    o.fetched = false;
    o.fetch_error = "could not resolve host";
    o.fetch_retry = TM_RETRY_TRANSIENT;
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_RECONCILING));
    TM_EXPECT_STR(reason(&p, COND_READY), "FetchFailed");
    TM_EXPECT(p.backoff);
}

TM_TEST(schema_missing_configmap_is_stalled)
{
    struct dbschema_observed o = base();
    o.source = "configmap/orders";
    o.fetched = false;
    o.fetch_error = "configmap orders not found";
    o.fetch_retry = TM_RETRY_TERMINAL;
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_STALLED));
    TM_EXPECT(!p.backoff);
}

TM_TEST(schema_same_revision_poll_writes_nothing)
{
    struct dbschema_observed o = base();
    struct dbschema_plan p1, p2;
    dbschema_decide(&o, NOW, &p1);
    o.status = p1.status;
    dbschema_decide(&o, NOW + 60000, &p2);
    TM_EXPECT(dbschema_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.nevents, 0);
}

/* A new object carries the CRDs' status default {observedGeneration: -1} (so
 * kstatus reads it InProgress): the first reconcile must replace it. */
TM_TEST(schema_first_status_replaces_the_crd_default)
{
    struct dbschema_observed o = base();
    o.status.observed_generation = -1;
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.observed_generation, 1);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT(!dbschema_status_equal(&o.status, &p.status)); /* so it is patched */
}

TM_TEST(schema_parse_error_on_a_new_object_still_replaces_the_crd_default)
{
    struct dbschema_observed o = base();
    o.status.observed_generation = -1;
    o.parsed = false;
    o.parse_error = "changelog.yaml:3:1: invalid YAML";
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.observed_generation, 1); /* Stalled for this generation: kstatus Failed */
    TM_EXPECT(cond_is_true(&p.status.conds, COND_STALLED));
}

/* 250 instances: status lists 100 (the not Ready, then the pending, then
 * the rest, by name), counts all of them, and tallies the applied tags
 * newest first, then a tag the changelog lost, then none. */
TM_TEST(schema_matrix_lists_at_most_100_attention_first_and_counts_all)
{
    static char names[250][8];
    static struct dbschema_instance many[250];
    for (int i = 0; i < 250; i++) {
        snprintf(names[i], sizeof(names[i]), "t%03d", i);
        many[i] = (struct dbschema_instance){.name = names[i], .applied_tag = "v1", .pending = 0,
                                             .ready = "True"};
        if (i % 10 == 1)
            many[i].applied_tag = "v2";
    }
    many[200].ready = "False";
    many[240].ready = "Unknown";
    many[240].applied_tag = NULL;
    many[100].pending = 2;
    many[5].applied_tag = "v0";
    struct dbschema_observed o = base();
    o.instances = many;
    o.ninstances = 250;
    struct dbschema_plan p;
    dbschema_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.instance_count, 250);
    TM_EXPECT_INT(p.status.instances_ready, 248);
    TM_ASSERT_INT(p.status.ninstances, DBSCHEMA_MATRIX_LISTED);
    TM_EXPECT_STR(p.status.instances[0].name, "t000");
    TM_EXPECT_STR(p.status.instances[96].name, "t096");
    TM_EXPECT_STR(p.status.instances[97].name, "t100"); /* pending */
    TM_EXPECT_STR(p.status.instances[98].name, "t200"); /* not Ready */
    TM_EXPECT_STR(p.status.instances[99].name, "t240"); /* Unknown */
    TM_ASSERT_INT(p.status.nby_tag, 4);
    TM_EXPECT_STR(p.status.by_tag[0].tag, "v2"); /* newest changelog tag first */
    TM_EXPECT_INT(p.status.by_tag[0].count, 25);
    TM_EXPECT_STR(p.status.by_tag[1].tag, "v1");
    TM_EXPECT_INT(p.status.by_tag[1].count, 223);
    TM_EXPECT_STR(p.status.by_tag[2].tag, "v0"); /* applied, no longer in the changelog */
    TM_EXPECT_INT(p.status.by_tag[2].count, 1);
    TM_EXPECT_STR(p.status.by_tag[3].tag, ""); /* none known */
    TM_EXPECT_INT(p.status.by_tag[3].count, 1);
    /* an instance leaving the list changes the status; the same input does not */
    struct dbschema_plan p2;
    o.status = p.status;
    dbschema_decide(&o, NOW, &p2);
    TM_EXPECT(dbschema_status_equal(&p2.status, &o.status));
    many[200].ready = "True";
    dbschema_decide(&o, NOW, &p2);
    TM_EXPECT(!dbschema_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.status.instances_ready, 249);
    TM_EXPECT_STR(p2.status.instances[97].name, "t097"); /* t200 made room */
}

TM_TEST_MAIN()
