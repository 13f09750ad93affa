/* tm_test: a tiny test helper.  One file = one executable; each TM_TEST(name)
 * is one behaviour and becomes one ctest test (CMake greps the names).
 *
 *   TM_TEST(buf_rejects_growth_past_cap) { ... TM_EXPECT_INT(rc, TM_E_TOOBIG); }
 *   TM_TEST_MAIN()
 *
 * `./exe name` runs one test; `./exe` runs all.  EXPECT records a failure and
 * goes on; ASSERT returns from the test.  Failures print file:line, the
 * expression, what was expected and what came.  Exit code 0 = all passed. */
#ifndef TM_TEST_H
#define TM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tm_test_fn)(void);
struct tm_test_case { const char *name; tm_test_fn fn; };

#define TM_TEST_MAX 512
static struct tm_test_case tm_tests_[TM_TEST_MAX];
static int tm_ntests_;
static int tm_failed_;

#define TM_TEST(name)                                                            \
    static void name(void);                                                      \
    __attribute__((constructor)) static void tm_reg_##name(void)                 \
    {                                                                            \
        if (tm_ntests_ < TM_TEST_MAX)                                            \
            tm_tests_[tm_ntests_++] = (struct tm_test_case){#name, name};        \
    }                                                                            \
    static void name(void)

#define TM_FAIL_(...)                                                            \
    do {                                                                         \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
        fprintf(stderr, __VA_ARGS__);                                            \
        fputc('\n', stderr);                                                     \
        tm_failed_++;                                                            \
    } while (0)

#define TM_EXPECT(cond)                                                          \
    do { if (!(cond)) TM_FAIL_("expected %s", #cond); } while (0)
#define TM_ASSERT(cond)                                                          \
    do { if (!(cond)) { TM_FAIL_("expected %s", #cond); return; } } while (0)

#define TM_EXPECT_INT(actual, expected)                                          \
    do {                                                                         \
        long long a_ = (long long)(actual), e_ = (long long)(expected);          \
        if (a_ != e_)                                                            \
            TM_FAIL_("%s: expected %lld, got %lld", #actual, e_, a_);            \
    } while (0)
#define TM_ASSERT_INT(actual, expected)                                          \
    do {                                                                         \
        long long a_ = (long long)(actual), e_ = (long long)(expected);          \
        if (a_ != e_) {                                                          \
            TM_FAIL_("%s: expected %lld, got %lld", #actual, e_, a_);            \
            return;                                                              \
        }                                                                        \
    } while (0)

#define TM_STR_OR_NULL_(s) ((s) ? (s) : "(null)")
#define TM_EXPECT_STR(actual, expected)                                          \
    do {                                                                         \
        const char *a_ = (actual), *e_ = (expected);                             \
        if (!a_ || !e_ ? a_ != e_ : strcmp(a_, e_) != 0)                         \
            TM_FAIL_("%s: expected \"%s\", got \"%s\"", #actual,                 \
                     TM_STR_OR_NULL_(e_), TM_STR_OR_NULL_(a_));                  \
    } while (0)
#define TM_ASSERT_STR(actual, expected)                                          \
    do {                                                                         \
        const char *a_ = (actual), *e_ = (expected);                             \
        if (!a_ || !e_ ? a_ != e_ : strcmp(a_, e_) != 0) {                       \
            TM_FAIL_("%s: expected \"%s\", got \"%s\"", #actual,                 \
                     TM_STR_OR_NULL_(e_), TM_STR_OR_NULL_(a_));                  \
            return;                                                              \
        }                                                                        \
    } while (0)
/* expects `needle` to occur in `hay` */
#define TM_EXPECT_CONTAINS(hay, needle)                                          \
    do {                                                                         \
        const char *h_ = (hay), *n_ = (needle);                                  \
        if (!h_ || !strstr(h_, n_))                                              \
            TM_FAIL_("%s: expected to contain \"%s\", got \"%s\"", #hay, n_,     \
                     TM_STR_OR_NULL_(h_));                                       \
    } while (0)
#define TM_EXPECT_NOT_CONTAINS(hay, needle)                                      \
    do {                                                                         \
        const char *h_ = (hay), *n_ = (needle);                                  \
        if (h_ && strstr(h_, n_))                                                \
            TM_FAIL_("%s: expected not to contain \"%s\", got \"%s\"", #hay, n_, \
                     h_);                                                        \
    } while (0)

/* Returns the value of an environment variable the harness must set, or
 * fails the test with a message saying who sets it. */
static inline const char *tm_test_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "environment variable %s is not set: run through hack/test.sh "
                        "(it starts the servers and exports it)\n", name);
        tm_failed_++;
        return NULL;
    }
    return v;
}

#define TM_TEST_MAIN()                                                           \
    int main(int argc, char **argv)                                              \
    {                                                                            \
        int ran = 0;                                                             \
        for (int i = 0; i < tm_ntests_; i++) {                                   \
            if (argc > 1 && strcmp(argv[1], tm_tests_[i].name) != 0)            \
                continue;                                                        \
            int before = tm_failed_;                                             \
            tm_tests_[i].fn();                                                   \
            fprintf(stderr, "%s %s\n", tm_failed_ == before ? "ok  " : "FAIL",   \
                    tm_tests_[i].name);                                          \
            ran++;                                                               \
        }                                                                        \
        if (ran == 0) {                                                          \
            fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)"); \
            return 2;                                                            \
        }                                                                        \
        return tm_failed_ ? 1 : 0;                                               \
    }

#endif
