#!/bin/sh
# The tutorial's agent as a shell script (docs/tutorial.md, "Variant: start the agent over SSH"), started detached by
# the `start_agent` ssh step of examples/flows/first-agent-ssh.yaml. The step exports TASK, CALLBACK_URL (the
# `agent_done` wait's callback URL) and REVIEW_COMMENT (empty on the first visit; the reviewer's comment after
# "Request changes"). Needs sh and curl. It does the same "work" as first-agent.mjs and POSTs {"diff", "summary"}.
set -eu
: "${TASK:?TASK is not set}"
: "${CALLBACK_URL:?CALLBACK_URL is not set}"
comment=${REVIEW_COMMENT:-}
exec >>agent.log 2>&1 # detached: nobody reads stdout, so keep a log next to the script

json() { # json <text> [lines]: the text as a JSON string; with "lines", every line ends in a newline (a diff)
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r//g' |
    awk -v lines="${2:-}" 'BEGIN{ORS=""} NR>1{print "\\n"} {print} END{if (lines) print "\\n"}' |
    sed -e 's/^/"/' -e 's/$/"/'
}

sleep 0.3 # the "work"
if [ -n "$comment" ]; then
  diff=$(printf -- '--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1 +1,3 @@\n # Notes\n+- %s\n+- %s (asked in review)\n' "$TASK" "$comment")
  summary="Added \"$TASK\", and \"$comment\" as asked"
else
  diff=$(printf -- '--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1 +1,2 @@\n # Notes\n+- %s\n' "$TASK")
  summary="Added \"$TASK\" to NOTES.md"
fi
printf '{"diff": %s, "summary": %s}' "$(json "$diff" lines)" "$(json "$summary")" >result.json

# Retried until Greenlight answers (connection refused, 5xx, 429): a restart while the agent works loses nothing.
curl -sS --retry 30 --retry-all-errors --retry-delay 1 --max-time 30 \
  -X POST -H 'content-type: application/json' --data-binary @result.json "$CALLBACK_URL"
echo
