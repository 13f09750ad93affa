/* kube internals shared by the files of controller/kube/ (not a public API).
 *
 * The config's request hook, the common easy-handle setup with a bearer
 * header, and a small response collector used by both clients and watches. */
#ifndef TM_KUBE_KUBE_INT_H
#define TM_KUBE_KUBE_INT_H

#include "kube/kube.h"

/* Calls the config's request hook, if any. */
void kube_int_count(const struct kube_config *cfg, const char *verb, int http_status);

/* Builds a curl header list: Accept, optional Content-Type, and
 * "Authorization: Bearer <token>" when cfg has a token (refresh as in
 * kube_config_token).  *out must be curl_slist_free_all'ed.  The token is
 * wiped from the stack copy before return. */
enum tm_code kube_int_headers(struct kube_config *cfg, bool refresh, const char *accept,
                              const char *content_type, struct curl_slist **out,
                              struct tm_err *err) TM_MUST_CHECK;

/* The URL prefix requests use ("https://host:port[/prefix]", no trailing "/"). */
const char *kube_int_base_url(const struct kube_config *cfg);

/* TLS material held in memory (NULL when absent); for tests. */
const char *kube_int_ca(const struct kube_config *cfg, size_t *len);
const char *kube_int_cert(const struct kube_config *cfg, size_t *len);
const char *kube_int_key(const struct kube_config *cfg, size_t *len);

/* How many connections the client has opened (keep-alive check in tests). */
long kube_int_client_connects(const struct kube_client *c);

/* True when the token comes from a file (a 401 is worth a re-read). */
bool kube_int_token_from_file(const struct kube_config *cfg);

/* Maps a curl failure to TM_E_IO/TM_E_TIMEOUT TRANSIENT with the error
 * buffer's text (errbuf may be ""). */
enum tm_code kube_int_curl_err(CURLcode rc, const char *errbuf, struct tm_err *err);

#endif
