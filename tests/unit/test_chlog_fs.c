/* Unit tests: chlog fs implementations (mem, disk), path cleaning, revision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "changelog/chlog.h"
#include "common/caps.h"
#include "tm_test.h"

TM_TEST(fs_path_clean_normalises_and_refuses_escapes)
{
    struct tm_err err = {0};
    char *p = NULL;
    TM_ASSERT_INT(chlog_path_clean("a/./b//c/../d.sql", &p, &err), TM_OK);
    TM_EXPECT_STR(p, "a/b/d.sql");
    free(p);
    TM_ASSERT_INT(chlog_path_clean("./", &p, &err), TM_OK);
    TM_EXPECT_STR(p, "");
    free(p);
    TM_EXPECT_INT(chlog_path_clean("a/../../x", &p, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "escapes the changelog root");
    TM_EXPECT(p == NULL);
    TM_EXPECT_INT(chlog_path_clean("/etc/passwd", &p, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "absolute");
}

TM_TEST(fs_mem_reads_lists_and_knows_folders)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "b.yaml", "B", 1, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "dir/z.sql", "Z", 1, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "./dir/a.sql", "A", 1, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "a.yaml", "", 0, &err), TM_OK);
    TM_EXPECT_INT(chlog_fs_mem_add(&fs, "dir/a.sql", "x", 1, &err), TM_E_INVAL);
    TM_EXPECT_INT(chlog_fs_mem_add(&fs, "../x.sql", "x", 1, &err), TM_E_INVAL);
    char **names = NULL;
    size_t n = 0;
    TM_ASSERT_INT(fs.list(fs.ctx, "", &names, &n, &err), TM_OK);
    TM_ASSERT_INT(n, 3);
    TM_EXPECT_STR(names[0], "a.yaml");
    TM_EXPECT_STR(names[1], "b.yaml");
    TM_EXPECT_STR(names[2], "dir");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    TM_ASSERT_INT(fs.list(fs.ctx, "dir", &names, &n, &err), TM_OK);
    TM_ASSERT_INT(n, 2);
    TM_EXPECT_STR(names[0], "a.sql");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    TM_EXPECT(fs.is_dir(fs.ctx, "dir"));
    TM_EXPECT(fs.is_dir(fs.ctx, ""));
    TM_EXPECT(!fs.is_dir(fs.ctx, "b.yaml"));
    TM_EXPECT(!fs.is_dir(fs.ctx, "di"));
    char *d = NULL;
    size_t len = 0;
    TM_ASSERT_INT(fs.read(fs.ctx, "dir/../dir/a.sql", &d, &len, &err), TM_OK);
    TM_EXPECT_STR(d, "A");
    TM_EXPECT_INT(len, 1);
    free(d);
    TM_EXPECT_INT(fs.read(fs.ctx, "nope.sql", &d, &len, &err), TM_E_NOTFOUND);
    TM_EXPECT_INT(fs.read(fs.ctx, "../b.yaml", &d, &len, &err), TM_E_INVAL);
    chlog_fs_mem_release(&fs);
}

TM_TEST(fs_mem_caps_file_and_total_size)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    size_t n = TM_CAP_CHANGELOG_FILE;
    char *big = malloc(n + 1);
    TM_ASSERT(big != NULL);
    memset(big, 'x', n + 1);
    TM_EXPECT_INT(chlog_fs_mem_add(&fs, "huge.sql", big, n + 1, &err), TM_E_TOOBIG);
    TM_EXPECT_CONTAINS(err.msg, "huge.sql");
    enum tm_code rc = TM_OK;
    int i;
    for (i = 0; i < 5 && rc == TM_OK; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%d.sql", i);
        rc = chlog_fs_mem_add(&fs, name, big, n, &err);
    }
    TM_EXPECT_INT(rc, TM_E_TOOBIG);
    TM_EXPECT_INT(i, 5); /* four files of 16 MiB fill 64 MiB; the fifth is refused */
    TM_EXPECT_CONTAINS(err.msg, "in total");
    free(big);
    chlog_fs_mem_release(&fs);
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    TM_ASSERT(f != NULL);
    fputs(data, f);
    fclose(f);
}

TM_TEST(fs_disk_reads_below_root_and_refuses_escapes_and_symlinks_out)
{
    char tmpl[] = "/tmp/tm_chlog_fs_XXXXXX";
    char *dir = mkdtemp(tmpl);
    TM_ASSERT(dir != NULL);
    char p[8192], root[2048], outside[2048];
    snprintf(root, sizeof(root), "%s/root", dir);
    TM_ASSERT(mkdir(root, 0700) == 0);
    snprintf(p, sizeof(p), "%s/sub", root);
    TM_ASSERT(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/sub/a.sql", root);
    write_file(p, "SELECT 1;\n");
    snprintf(outside, sizeof(outside), "%s/secret.txt", dir);
    write_file(outside, "secret");
    snprintf(p, sizeof(p), "%s/link.sql", root);
    TM_ASSERT(symlink(outside, p) == 0);
    snprintf(p, sizeof(p), "%s/inner.sql", root);
    TM_ASSERT(symlink("sub/a.sql", p) == 0);
    snprintf(p, sizeof(p), "%s/.hidden.sql", root);
    write_file(p, "SELECT 'hidden';\n");

    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, root), TM_OK);
    struct tm_err err = {0};
    char *d = NULL;
    size_t len = 0;
    TM_EXPECT_INT(fs.read(fs.ctx, "sub/a.sql", &d, &len, &err), TM_OK);
    TM_EXPECT_STR(d, "SELECT 1;\n");
    free(d);
    d = NULL;
    TM_EXPECT_INT(fs.read(fs.ctx, "inner.sql", &d, &len, &err), TM_OK);
    free(d);
    d = NULL;
    TM_EXPECT_INT(fs.read(fs.ctx, "../secret.txt", &d, &len, &err), TM_E_INVAL);
    TM_EXPECT_INT(fs.read(fs.ctx, "link.sql", &d, &len, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "symlink");
    TM_EXPECT_INT(fs.read(fs.ctx, "missing.sql", &d, &len, &err), TM_E_NOTFOUND);
    TM_EXPECT(fs.is_dir(fs.ctx, "sub"));
    TM_EXPECT(!fs.is_dir(fs.ctx, "sub/a.sql"));
    char **names = NULL;
    size_t n = 0;
    TM_ASSERT_INT(fs.list(fs.ctx, "", &names, &n, &err), TM_OK);
    TM_ASSERT_INT(n, 3);
    TM_EXPECT_STR(names[0], "inner.sql");
    TM_EXPECT_STR(names[1], "link.sql");
    TM_EXPECT_STR(names[2], "sub");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    chlog_fs_disk_release(&fs);

    snprintf(p, sizeof(p), "%s/link.sql", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/.hidden.sql", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/inner.sql", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/sub/a.sql", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/sub", root);
    rmdir(p);
    rmdir(root);
    unlink(outside);
    rmdir(dir);
}

TM_TEST(fs_disk_refuses_files_over_the_cap)
{
    char tmpl[] = "/tmp/tm_chlog_big_XXXXXX";
    char *dir = mkdtemp(tmpl);
    TM_ASSERT(dir != NULL);
    char p[4096];
    snprintf(p, sizeof(p), "%s/big.sql", dir);
    FILE *f = fopen(p, "w");
    TM_ASSERT(f != NULL);
    /* sparse: seek past the cap and write one byte */
    TM_ASSERT(fseek(f, (long)TM_CAP_CHANGELOG_FILE, SEEK_SET) == 0);
    fputc('x', f);
    fclose(f);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, dir), TM_OK);
    struct chlog *c = NULL;
    struct tm_err err = {0};
    TM_EXPECT_INT(chlog_load(&fs, "big.sql", NULL, &c, &err), TM_E_TOOBIG);
    TM_EXPECT_CONTAINS(err.msg, "big.sql");
    chlog_free(c);
    chlog_fs_disk_release(&fs);
    unlink(p);
    rmdir(dir);
}

TM_TEST(fs_revision_depends_on_paths_and_contents_not_insertion_order)
{
    struct chlog_fs a, b;
    TM_ASSERT_INT(chlog_fs_mem_init(&a), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_init(&b), TM_OK);
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_fs_mem_add(&a, "x.yaml", "one", 3, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&a, "d/y.sql", "two", 3, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&b, "d/y.sql", "two", 3, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&b, "x.yaml", "one", 3, &err), TM_OK);
    char ra[65], rb[65];
    TM_ASSERT_INT(chlog_revision(&a, "", ra, &err), TM_OK);
    TM_ASSERT_INT(chlog_revision(&b, "", rb, &err), TM_OK);
    TM_EXPECT_INT(strlen(ra), 64);
    TM_EXPECT_STR(ra, rb);
    /* sha256 of "d/y.sql\0" "3\0" "two" "x.yaml\0" "3\0" "one" (python hashlib) */
    TM_EXPECT_STR(ra, "d4c14ded842a450156e271dfa82fdb79400d95abe1e8e6e798a0dec78a3dcca9");
    struct chlog_fs c2;
    TM_ASSERT_INT(chlog_fs_mem_init(&c2), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&c2, "x.yaml", "one", 3, &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&c2, "d/y.sql", "twO", 3, &err), TM_OK);
    char rc2[65];
    TM_ASSERT_INT(chlog_revision(&c2, "", rc2, &err), TM_OK);
    TM_EXPECT(strcmp(ra, rc2) != 0);
    chlog_fs_mem_release(&a);
    chlog_fs_mem_release(&b);
    chlog_fs_mem_release(&c2);
}

TM_TEST(mounted_fs_places_the_files_below_a_prefix_for_liquibase_filenames)
{
    struct chlog_fs mem, fs;
    struct tm_err err = {0};
    TM_ASSERT(chlog_fs_mem_init(&mem) == TM_OK);
    const char *master = "databaseChangeLog:\n"
                         "- include: {file: db/changelog/changes/001.yaml}\n"
                         "- include: {file: changes/002.yaml, relativeToChangelogFile: true}\n";
    const char *one = "databaseChangeLog:\n- changeSet: {id: 1, author: a, changes: [{sql: SELECT 1}]}\n";
    const char *two = "databaseChangeLog:\n- changeSet: {id: 2, author: a, changes: [{sql: SELECT 2}]}\n";
    TM_ASSERT(chlog_fs_mem_add(&mem, "db.changelog-master.yaml", master, strlen(master), &err) == TM_OK);
    TM_ASSERT(chlog_fs_mem_add(&mem, "changes/001.yaml", one, strlen(one), &err) == TM_OK);
    TM_ASSERT(chlog_fs_mem_add(&mem, "changes/002.yaml", two, strlen(two), &err) == TM_OK);
    TM_ASSERT(chlog_fs_mount_init(&fs, &mem, "db/changelog", &err) == TM_OK);
    TM_EXPECT(fs.is_dir(fs.ctx, "db"));
    TM_EXPECT(fs.is_dir(fs.ctx, "db/changelog/changes"));
    TM_EXPECT(!fs.is_dir(fs.ctx, "changes"));
    char **names = NULL;
    size_t n = 0;
    TM_ASSERT(fs.list(fs.ctx, "db", &names, &n, &err) == TM_OK);
    TM_ASSERT(n == 1);
    TM_EXPECT_STR(names[0], "changelog");
    free(names[0]);
    free(names);
    char *d = NULL;
    size_t len = 0;
    TM_EXPECT_INT(fs.read(fs.ctx, "changes/001.yaml", &d, &len, &err), TM_E_NOTFOUND);
    struct chlog *c = NULL;
    enum tm_code rc = chlog_load(&fs, "db/changelog/db.changelog-master.yaml", NULL, &c, &err);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 2);
    /* what Spring Boot's Liquibase (classpath:db/changelog/...) writes */
    TM_EXPECT_STR(c->sets[0].filename, "db/changelog/changes/001.yaml");
    TM_EXPECT_STR(c->sets[1].filename, "db/changelog/changes/002.yaml");
    chlog_free(c);
    chlog_fs_mount_release(&fs);
    chlog_fs_mem_release(&mem);
}

static bool chlog_has_suffix_for_test(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool only_sql(const char *path, void *arg)
{
    (void)arg;
    return chlog_has_suffix_for_test(path, ".sql");
}

TM_TEST(walk_sorts_paths_and_honours_depth_and_filter)
{
    struct chlog_fs fs;
    struct tm_err err = {0};
    TM_ASSERT(chlog_fs_mem_init(&fs) == TM_OK);
    const char *files[] = {"d/b.sql", "d/a.txt", "d/10/x.sql", "d/1/y.sql", "d/1/deep/z.sql",
                           "other.sql"};
    for (size_t i = 0; i < 6; i++)
        TM_ASSERT(chlog_fs_mem_add(&fs, files[i], "x", 1, &err) == TM_OK);
    char **p = NULL;
    size_t n = 0;
    TM_ASSERT(chlog_fs_walk(&fs, "d", NULL, &p, &n, &err) == TM_OK);
    TM_ASSERT(n == 5);
    TM_EXPECT_STR(p[0], "d/1/deep/z.sql");
    TM_EXPECT_STR(p[1], "d/1/y.sql");
    TM_EXPECT_STR(p[2], "d/10/x.sql");
    TM_EXPECT_STR(p[3], "d/a.txt");
    TM_EXPECT_STR(p[4], "d/b.sql");
    chlog_paths_free(p, n);
    struct chlog_walk w = {.min_depth = 2, .max_depth = 2, .keep = only_sql};
    TM_ASSERT(chlog_fs_walk(&fs, "d", &w, &p, &n, &err) == TM_OK);
    TM_ASSERT(n == 2);
    TM_EXPECT_STR(p[0], "d/1/y.sql");
    TM_EXPECT_STR(p[1], "d/10/x.sql");
    chlog_paths_free(p, n);
    chlog_fs_mem_release(&fs);
}

TM_TEST_MAIN()
