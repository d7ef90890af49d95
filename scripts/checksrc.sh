#!/usr/bin/env bash
# Source discipline, checked on every `make test`:
#  - banned C functions (unbounded or locale-dependent on protocol input);
#  - the layering of ARCHITECTURE.md: core/ includes nothing of ours above it,
#    engines (auth/, filter/) include only core/ (and mime/ for filters and
#    auth), mime/ and store/ include only core/;
#  - every source file opens with a comment saying what it is for.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0

banned='\b(strcpy|strcat|strncpy|strtok|sprintf|vsprintf|atoi|atol|gets)[[:space:]]*\('
if git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c' | xargs grep -nE "$banned" 2>/dev/null; then
	echo "checksrc: banned function above (use snprintf, memcpy with lengths, str_to_u64)"
	fail=1
fi

# layer -> allowed include prefixes
check_layer() {
	local dir=$1 allowed=$2 f inc
	for f in $(git ls-files "src/$dir/*.c" "src/$dir/*.h"); do
		while read -r inc; do
			[[ $inc =~ ^($allowed)/ ]] || {
				echo "checksrc: $f includes \"$inc\": $dir/ may include only $allowed"
				fail=1
			}
		done < <(sed -n 's/^#include "\([^"]*\/[^"]*\)".*/\1/p' "$f")
	done
}
check_layer core 'core'
check_layer mime 'core|mime'
check_layer store 'core|store'
check_layer auth 'core|mime|auth'
check_layer filter 'core|mime|filter'
check_layer pipeline 'core|mime|auth|filter|store|transport|pipeline'
# the key holder sits on auth/ (and core/); auth/ and pipeline/ know nothing of it
check_layer keyholder 'core|auth|keyholder'
# no stage includes another stage (stage_X.c may include only its own stage_X.h)
for f in $(git ls-files 'src/pipeline/stage_*.c'); do
	own=$(basename "$f" .c)
	while read -r inc; do
		[[ $inc == "pipeline/$own.h" ]] || {
			echo "checksrc: $f includes \"$inc\": a stage includes no other stage"
			fail=1
		}
	done < <(sed -n 's/^#include "\(pipeline\/stage_[^"]*\)".*/\1/p' "$f")
done

for f in $(git ls-files 'src/*.c' 'src/*.h'); do
	head -1 "$f" | grep -q '^/\*' || {
		echo "checksrc: $f does not open with a comment saying what it is for"
		fail=1
	}
done

[ $fail -eq 0 ] && echo "checksrc: ok"
exit $fail
