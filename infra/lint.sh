#!/usr/bin/env bash
# The scripts' half of `make lint`: shellcheck on every shell script of the
# project, `python3 -m py_compile` on every Python program. It finds the
# files itself, by extension or, for a file without one, by its shebang,
# so a new script (under crates/*/scripts/, infra/, tests/, images/, scenarios/solvers/) is
# linted without editing the Makefile.
#
#   bash infra/lint.sh
#
# ShellCheck runs from the repository root with -x, so a `source=`
# directive names a file by its path in the repository. Every program a
# crate builds in (crates/*/scripts/) must say what it is on its first
# line: a shebang, or `# shellcheck shell=...` for a file of functions
# joined in front of others.
set -euo pipefail
cd "$(dirname "$0")/.."

shell=() python=() headless=()
while IFS= read -r -d '' file; do
  first=
  IFS= read -r first <"$file" || true
  case $file in
    crates/*/scripts/*)
      case $first in '#!'* | '# shellcheck shell='*) ;; *) headless+=("$file") ;; esac ;;
  esac
  case $file in
    *.sh) shell+=("$file") ;;
    *.py) python+=("$file") ;;
    *)
      case $first in
        '#!'*python*) python+=("$file") ;;
        '#!'*sh) shell+=("$file") ;; # sh, bash, env bash
      esac
      ;;
  esac
done < <(find crates/*/scripts infra tests .ci images scenarios/solvers -type f ! -path 'tests/fixtures/*' -print0 2>/dev/null | LC_ALL=C sort -z)

if ((${#headless[@]})); then
  printf 'lint: %s: the first line is neither a shebang nor a shellcheck shell directive\n' "${headless[@]}" >&2
  exit 1
fi

echo "lint: shellcheck on ${#shell[@]} shell scripts"
shellcheck -x "${shell[@]}"

echo "lint: py_compile on ${#python[@]} Python programs"
pycache=$(mktemp -d)
trap 'rm -rf "$pycache"' EXIT
# The byte code goes to a scratch directory, never beside the sources
# (images/ is hashed into the image tags).
PYTHONPYCACHEPREFIX=$pycache python3 -m py_compile "${python[@]}"
echo "lint: scripts ok"
