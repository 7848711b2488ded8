#!/usr/bin/env bash
# scripts/setup.sh installs every command that the shell scripts of tests/, bench/ and .ci/ run
# (and the fetch scripts they call), or the command is in Debian's base system: checked by
# setup_covers.py (how: its header). Then the checker is shown to fail when it should: commands
# in every command position that nothing provides, a command found only through PATH (as a pyenv
# shim would be), and installed commands whose packages setup.sh does not list.
set -u
. "$(dirname "$0")/lib.sh"
: "${FS_SOURCE_DIR:?FS_SOURCE_DIR must name the source tree}"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed (scripts/setup.sh)" >&2; exit 1; }
checker=$(dirname "$0")/setup_covers.py
src=$FS_SOURCE_DIR

# ---- the project's scripts ----------------------------------------------------------------------
expect_exit 0 python3 "$checker" "$src/scripts/setup.sh" "$src/tests" "$src/bench" "$src/.ci" \
  "$src/scripts/fetch-models.sh" "$src/scripts/fetch-oracle.sh" "$src/scripts/fetch-playwright.sh"
expect_out_is ""
expect_err_is ""

# ---- it fails when it should ----------------------------------------------------------------------
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# commands that no package provides, in each kind of command position; the rest is not a command
# that needs a package (builtins, functions, variables, paths, quoted text, heredocs, comments)
cat >"$tmp/uses.sh" <<'SCRIPT'
#!/usr/bin/env bash
greet() { echo hi; }
x=$(fs_none_a --flag)
ls | fs_none_b
true && fs_none_c || fs_none_d
if fs_none_e; then greet; fi
command -v fs_none_f >/dev/null
trap 'fs_none_g' EXIT
echo "fs_not_a_command $(fs_none_h)" `fs_none_i`
"$variable_command" arg
./build/local_thing arg
cat <<'EOF'
fs_heredoc_text is not a command
EOF
# fs_in_comment
python3 -c 'fs_in_quotes'
[[ -n $x && -z fs_in_test ]] || { fs_none_j; }
FS_VAR=1 timeout 5 fs_none_k
case $x in
  a | b) fs_none_l --x ;;
  *) greet ;;
esac
fs_none_m
SCRIPT
expect_exit 1 python3 "$checker" "$src/scripts/setup.sh" "$tmp/uses.sh"
check "commands nothing provides, each named with where it is used" "fs_none_a $tmp/uses.sh:3
fs_none_b $tmp/uses.sh:4
fs_none_c $tmp/uses.sh:5
fs_none_d $tmp/uses.sh:5
fs_none_e $tmp/uses.sh:6
fs_none_f $tmp/uses.sh:7
fs_none_g $tmp/uses.sh:8
fs_none_h $tmp/uses.sh:9
fs_none_i $tmp/uses.sh:9
fs_none_j $tmp/uses.sh:17
fs_none_k $tmp/uses.sh:18
fs_none_l $tmp/uses.sh:20
fs_none_m $tmp/uses.sh:23" "$(sed -E 's/^setup does not cover ([^ ]+) \(used in ([^)]*)\).*/\1 \2/' <<<"$out")"
expect_out_has "setup does not cover fs_none_a (used in $tmp/uses.sh:3): not found in /usr/bin, /bin, /usr/sbin, /sbin; scripts/setup.sh should install the Debian package that provides it"

# a command found through PATH only (like a pyenv shim) is not a Debian package's
mkdir "$tmp/shims"
printf '#!/bin/sh\n' >"$tmp/shims/fs_shimmed" && chmod +x "$tmp/shims/fs_shimmed"
printf '#!/usr/bin/env bash\nfs_shimmed\n' >"$tmp/shim.sh"
PATH=$tmp/shims:$PATH expect_exit 1 python3 "$checker" "$src/scripts/setup.sh" "$tmp/shim.sh"
expect_out_is "setup does not cover fs_shimmed (used in $tmp/shim.sh:2): not found in /usr/bin, /bin, /usr/sbin, /sbin; scripts/setup.sh should install the Debian package that provides it"

# installed commands whose packages a setup script does not list: sqlite3 and vips fail, cat is in
# the base system
printf '#!/usr/bin/env bash\n[[ ${1:-} == --list ]] && echo bash\n' >"$tmp/setup.sh"
printf '#!/usr/bin/env bash\nsqlite3 x.db "PRAGMA integrity_check" | cat\nvips black one.png 1 1\n' >"$tmp/installed.sh"
expect_exit 1 python3 "$checker" "$tmp/setup.sh" "$tmp/installed.sh"
expect_out_is "setup does not cover sqlite3 (used in $tmp/installed.sh:2): its package sqlite3 is neither installed by scripts/setup.sh nor part of the base system; add it to setup.sh's packages
setup does not cover vips (used in $tmp/installed.sh:3): its package libvips-tools is neither installed by scripts/setup.sh nor part of the base system; add it to setup.sh's packages"

# mpirun (test_shards.sh) is Debian's openmpi-bin, through the mpirun alternative: a setup script
# that does not list it fails
printf '#!/usr/bin/env bash\nmpirun -q -np 2 true\n' >"$tmp/mpi.sh"
expect_exit 1 python3 "$checker" "$tmp/setup.sh" "$tmp/mpi.sh"
expect_out_is "setup does not cover mpirun (used in $tmp/mpi.sh:2): its package openmpi-bin is neither installed by scripts/setup.sh nor part of the base system; add it to setup.sh's packages"

finish
