#!/usr/bin/env bash
# The source tree uses none of the banned C functions (hack/checksrc).
exec "$TIDEMARK_SOURCE_DIR/hack/checksrc"
