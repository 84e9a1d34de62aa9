#!/usr/bin/env bash
# Lists the Runtime's public members that have no XML documentation (CS1591), one line each, then their count.
# The Runtime's csproj makes CS1591 an error (WarningsAsErrors), so an ordinary build already fails on an undocumented
# member; this lists them sorted and counted, without the rest of the build's output (NU1603 stays suppressed as the
# build otherwise does). Builds the net10.0 target from scratch (--no-incremental: an up-to-date build would print nothing).
# Exit status 0 when none is missing, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
missing="$(dotnet build Runtime -c Release -f net10.0 -nologo --no-incremental -p:NoWarn=NU1603 2>&1 | grep CS1591 | sort -u)"
[ -n "$missing" ] && printf '%s\n' "$missing"
count=$(printf '%s' "$missing" | grep -c CS1591)
echo "$count public member(s) without XML documentation"
[ "$count" -eq 0 ]
