#!/usr/bin/env bash
# Links run one way (STYLE.md 2): eventstore/ and synth/ include nothing
# under router/ (lib/ too) nor each other; router/lib/ includes only itself;
# tools/ and bench/ see only router/lib/ and tools/client.h of our code.
set -u
cd "$(dirname "$0")/.."
fail=0
check() {	# check DIR ALLOWED_REGEX
	local f line
	for f in $(find "$1" -name '*.[ch]' 2>/dev/null); do
		while IFS= read -r line; do
			inc=${line#*\"}; inc=${inc%%\"*}
			if ! [[ $inc =~ $2 ]]; then
				echo "layering: $f includes \"$inc\"" >&2
				fail=1
			fi
		done < <(grep -E '^#include "' "$f")
	done
}
check eventstore '^eventstore/'
check synth '^synth/'
check router/lib '^router/lib/'
check tools '^(router/lib/|tools/)'
check bench '^(router/lib/|tools/client\.h|bench/)'
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
