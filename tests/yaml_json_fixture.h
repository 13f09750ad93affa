/* yaml_json_fixture: reads a YAML document back into cJSON with libyaml's
 * document API, so a test can check that `-o yaml` holds the same data as
 * `-o json` (cJSON_Compare).  Scalars resolve as YAML 1.2's JSON schema
 * does: a quoted scalar is a string; a plain one is true/false, null (also
 * "~" and empty), a number when strtod reads all of it, else a string.
 * Test-only: it stops at the first document and knows no tags or anchors. */
#ifndef TM_TESTS_YAML_JSON_FIXTURE_H
#define TM_TESTS_YAML_JSON_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static inline cJSON *yaml_node_json_(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > 64)
        return NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return cJSON_CreateString(v);
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return cJSON_CreateBool(v[0] == 't');
        if (strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || v[0] == '\0')
            return cJSON_CreateNull();
        char *end = NULL;
        double d = strtod(v, &end);
        if (end && end != v && *end == '\0')
            return cJSON_CreateNumber(d);
        return cJSON_CreateString(v);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        cJSON *a = cJSON_CreateArray();
        for (yaml_node_item_t *i = n->data.sequence.items.start; a && i < n->data.sequence.items.top;
             i++) {
            cJSON *k = yaml_node_json_(doc, yaml_document_get_node(doc, *i), depth + 1);
            if (!k) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, k);
        }
        return a;
    }
    cJSON *o = cJSON_CreateObject();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; o && p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = yaml_document_get_node(doc, p->key);
        cJSON *v = yaml_node_json_(doc, yaml_document_get_node(doc, p->value), depth + 1);
        if (!key || key->type != YAML_SCALAR_NODE || !v) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, (const char *)key->data.scalar.value, v);
    }
    return o;
}

/* The first document of text as cJSON (the caller frees it), or NULL when
 * it does not parse. */
static inline cJSON *yaml_to_json(const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    cJSON *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return NULL;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (yaml_parser_load(&parser, &doc)) {
        out = yaml_node_json_(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return out;
}

#endif
