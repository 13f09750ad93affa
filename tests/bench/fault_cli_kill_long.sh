#!/usr/bin/env bash
# The long variant of tests/integration/fault_cli_kill.sh: 200 kill -9 points
# (TM_FAULT_KILLS overrides) during updates and rollbacks of a 200-changeset
# changelog, each followed by the history/objects/lock consistency checks.
# Prints how many kill points landed before the first changeset, mid-run
# and after the run had finished.
set -uo pipefail
: "${TIDEMARK_SOURCE_DIR:?run through ctest / hack/test.sh}"
TM_FAULT_KILLS=${TM_FAULT_KILLS:-200} exec bash "$TIDEMARK_SOURCE_DIR/tests/integration/fault_cli_kill.sh"
