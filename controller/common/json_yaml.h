/* tm_json_yaml: writes a cJSON tree as a YAML document, for `-o yaml`
 * beside `-o json`: one tree built once, two renderings of it.
 *
 * Design: libyaml's emitter does all the quoting and escaping; nothing
 * here decides how a string must be written.  Types survive a round trip
 * through any YAML 1.1 or 1.2 reader: strings are emitted with no plain
 * form allowed (libyaml then quotes them, so "true", "12" or "null" stay
 * strings), numbers, booleans and null are plain scalars in their JSON
 * spelling (cJSON's own number printer), objects are block mappings and
 * arrays block sequences (empty ones `{}` and `[]`).  Mapping keys may be
 * plain: they are names, and a reader that maps YAML to JSON keys them by
 * their text.  Lines are never folded.  Non-ASCII text is written as is
 * (UTF-8), not escaped. */
#ifndef TM_COMMON_JSON_YAML_H
#define TM_COMMON_JSON_YAML_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "common/err.h"

/* Writes root as one YAML document (no "---", ending in a newline) to out.
 * TM_E_NOMEM or TM_E_IO (err says which) leave out with part of the
 * document written; root is only read. */
enum tm_code tm_json_yaml_write(FILE *out, const cJSON *root, struct tm_err *err) TM_MUST_CHECK;

#endif
