/* Unit tests of reconcilers/drive.c that need no servers: the clock decide
 * reads (the loop itself runs in every reconciler e2e test). */
#include "../tm_test.h"

#include "common/clock.h"
#include "reconcilers/drive.h"

/* A test injects decide's clock through the reconciler's ctx and moves it:
 * a timeout is reached without sleeping.  Whole seconds, as the API keeps. */
TM_TEST(drive_now_reads_the_injected_clock_in_whole_seconds)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 1700000000123LL);
    struct rec_drive_opts opts = {.wall = tm_manual_clock_get(&mc)};
    TM_EXPECT_INT(rec_drive_now(&opts), 1700000000000LL);
    tm_manual_clock_advance(&mc, 600LL * 1000 + 900); /* an appTimeoutSeconds of 600 */
    TM_EXPECT_INT(rec_drive_now(&opts), 1700000601000LL);
}

TM_TEST(drive_now_without_a_clock_reads_the_wall_clock)
{
    struct rec_drive_opts zero = {0};
    int64_t before = tm_wall_ms() / 1000 * 1000;
    int64_t a = rec_drive_now(NULL), b = rec_drive_now(&zero);
    int64_t after = tm_wall_ms();
    TM_EXPECT(a >= before && a <= after);
    TM_EXPECT(b >= before && b <= after);
    TM_EXPECT_INT(a % 1000, 0);
}

TM_TEST_MAIN()
