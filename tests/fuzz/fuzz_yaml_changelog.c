/* Fuzz target: Liquibase YAML changelogs through chlog_load
 * (yaml.c, lbparse.c); see fuzz_lb_load.h. */
#include "fuzz_lb_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_lb_load(data, size, "changelog.yaml");
}
