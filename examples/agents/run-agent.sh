#!/bin/sh
# A coding agent's launcher on the build VM, started detached by the `start_agent` ssh step of
# examples/flows/agent-fix.yaml as `./run-agent.sh <repo> <issue>`. The step exports CALLBACK_URL (the `agent_done`
# wait's callback URL) and REVIEW_COMMENT (empty on the first visit; the reviewers' comment after "Request changes").
#
# Contract with Greenlight (docs/agents.md):
#   POST $CALLBACK_URL/heartbeat  {"progress": "...", "extend": "30m"}   progress line in the Slack thread, more time
#   POST $CALLBACK_URL            {"diff": "...", "summary": "...", "pr": N}   resumes the run (202; a repeat is 200)
#   POST $CALLBACK_URL/fail       {"reason": "..."}                            fails the step (its on_error decides)
# curl retries until the server answers, so a Greenlight restart while the agent works loses nothing.
set -eu
repo=$1
issue=$2
: "${CALLBACK_URL:?CALLBACK_URL is not set}"
# AGENT_CMD does the work; it must leave the patch in ./out/patch.diff, a one-line summary in ./out/summary.txt and
# the pull request number in ./out/pr. The default is a stand-in that only touches a README.
AGENT_CMD=${AGENT_CMD:-./fake-agent.sh}
mkdir -p out

post() { # post <url> <json file>
  curl -sS --retry 30 --retry-all-errors --retry-delay 2 --max-time 30 \
    -X POST -H 'content-type: application/json' --data-binary "@$2" "$1" >/dev/null
}

json_string() { # a file's content as a JSON string
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r//g' "$1" | awk 'BEGIN{ORS="\\n"} {print}' |
    sed -e 's/^/"/' -e 's/$/"/'
}

fail() {
  printf '{"reason": "%s"}' "$1" > out/fail.json
  post "$CALLBACK_URL/fail" out/fail.json || true
  exit 1
}

printf '{"progress": "Agent started on %s#%s", "extend": "30m"}' "$repo" "$issue" > out/beat.json
post "$CALLBACK_URL/heartbeat" out/beat.json

REPO=$repo ISSUE=$issue "$AGENT_CMD" || fail "The agent exited with $?; see the VM's logs."

printf '{"progress": "Patch ready: %s lines changed"}' "$(grep -c '^[-+][^-+]' out/patch.diff || true)" > out/beat.json
post "$CALLBACK_URL/heartbeat" out/beat.json

{
  printf '{"diff": %s, ' "$(json_string out/patch.diff)"
  printf '"summary": %s, ' "$(json_string out/summary.txt)"
  printf '"pr": %s}' "$(tr -dc 0-9 < out/pr)"
} > out/result.json
post "$CALLBACK_URL" out/result.json
