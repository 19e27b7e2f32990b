#!/bin/sh
# Stand-in for a real coding agent (used by the tests and the docs): when a ./gate file exists it first waits for
# ./go (tests use it to hold the agent mid-work), then writes a patch, a summary and a pull request number into ./out.
set -eu
if [ -f gate ]; then while [ ! -f go ]; do sleep 0.1; done; fi
cat > out/patch.diff <<PATCH
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-Fix me: "issue ${ISSUE}"
+Fixed: "issue ${ISSUE}" in ${REPO}
PATCH
printf 'Fixed issue #%s in %s\n' "$ISSUE" "$REPO" > out/summary.txt
printf '17\n' > out/pr
