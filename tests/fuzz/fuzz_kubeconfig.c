/* Fuzz target: kubeconfig parsing (controller/kube/config.c) from memory.
 * Relative file references resolve under a folder that does not exist, so
 * the fuzzer never reads real files. */
#include <stdint.h>
#include <stdlib.h>

#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tm_err err;
    const char *contexts[] = {NULL, "a", "prod"};
    for (size_t i = 0; i < 3; i++) {
        struct kube_config *cfg = kube_config_from_kubeconfig(
            (const char *)data, size, "fuzz", "/nonexistent-tidemark-fuzz", contexts[i], &err);
        if (cfg) {
            char tok[KUBE_TOKEN_MAX];
            if (kube_config_token(cfg, false, tok, sizeof(tok), &err) != TM_OK)
                err.msg[0] = '\0';
            (void)kube_config_server(cfg);
            (void)kube_config_namespace(cfg);
        }
        kube_config_free(cfg);
    }
    return 0;
}
