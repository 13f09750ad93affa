/* tidemark tests/bench/tools/rss_floor_https.c — the memory floor of the libraries the
 * controller links: a process linked like `tidemark` (libcurl, OpenSSL, libpq, cJSON,
 * libyaml from Debian) that makes ONE verified HTTPS GET to the API server with
 * libcurl, then waits on stdin so controller_idle_rss.sh can read its RSS.  Whatever
 * the controller holds above this figure is tidemark's own; below it no libcurl +
 * OpenSSL client of this API server can go.
 * usage: rss_floor_https URL CA_PEM_FILE  (prints "ready <http status>", then blocks) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rss_floor_https URL CA_PEM_FILE\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "rss_floor_https: curl_global_init failed\n");
        return 1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "rss_floor_https: curl_easy_init failed\n");
        return 1;
    }
    curl_easy_setopt(c, CURLOPT_URL, argv[1]);
    curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        fprintf(stderr, "rss_floor_https: GET %s: %s\n", argv[1], curl_easy_strerror(rc));
        curl_easy_cleanup(c);
        return 1;
    }
    printf("ready %ld\n", code);
    fflush(stdout);
    while (getchar() != EOF) {
    }
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return 0;
}
