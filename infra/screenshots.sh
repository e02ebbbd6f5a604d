#!/usr/bin/env bash
# The browser tests' screenshots as something to collect and look at:
# writes DIRECTORY/index.html, a contact sheet of every PNG in DIRECTORY
# (sorted by name, each with its name, size and dimensions, and a link to
# every PDF), then fails if a screenshot EXPECTED names is missing, is not
# a PNG, or is smaller than MIN_BYTES (an empty or blank capture).
#
#   bash infra/screenshots.sh DIRECTORY EXPECTED [MIN_BYTES]
#
# EXPECTED is a file of screenshot names, one a line, without `.png`;
# blank lines and lines starting with `#` are skipped. MIN_BYTES defaults
# to 8192: a blank Chromium capture is 2.9 KB at 390×900 and 5.7 KB at
# 1400×900, the smallest real one (the login page at 390 px) 11.7 KB.
# `make test` runs it after the cargo tests on target/screenshots with
# crates/enshu-server/tests/screenshots.txt.
set -euo pipefail

usage() {
  echo "usage: bash infra/screenshots.sh DIRECTORY EXPECTED [MIN_BYTES]" >&2
  exit 2
}

(($# >= 2 && $# <= 3)) || usage
directory=$1
expected=$2
min_bytes=${3:-8192}
[[ $min_bytes =~ ^[0-9]+$ ]] || usage
if [[ ! -f $expected ]]; then
  echo "screenshots: the list of expected screenshots $expected does not exist" >&2
  exit 2
fi
mkdir -p "$directory"

html_escape() {
  local text=$1
  text=${text//&/&amp;}
  text=${text//</&lt;}
  text=${text//>/&gt;}
  text=${text//\"/&quot;}
  printf '%s' "$text"
}

# A PNG's width and height from its IHDR chunk (bytes 16 to 23, big endian).
png_size() {
  local -a bytes
  read -r -a bytes < <(od -An -tu1 -j16 -N8 -v "$1" 2>/dev/null | tr -s ' \n' ' ')
  if ((${#bytes[@]} == 8)); then
    printf '%d×%d' \
      $(((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3])) \
      $(((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]))
  else
    printf '?'
  fi
}

is_png() {
  [[ $(od -An -tx1 -N8 "$1" | tr -d ' \n') == 89504e470d0a1a0a ]]
}

mapfile -t pngs < <(find "$directory" -maxdepth 1 -type f -name '*.png' -printf '%f\n' | LC_ALL=C sort)
mapfile -t pdfs < <(find "$directory" -maxdepth 1 -type f -name '*.pdf' -printf '%f\n' | LC_ALL=C sort)

index="$directory/index.html"
{
  printf '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Enshu screenshots</title>\n'
  printf '<style>body{font-family:sans-serif;margin:1rem;background:#f4f6f8}'
  printf 'figure{display:inline-block;vertical-align:top;margin:.5rem;padding:.5rem;background:#fff;border:1px solid #d7dde4}'
  printf 'figure img{display:block;max-width:360px;max-height:480px;object-fit:contain;object-position:top}'
  printf 'figcaption{font-size:.85rem;margin-top:.3rem}</style></head><body>\n'
  printf '<h1>Screenshots (%d)</h1>\n' "${#pngs[@]}"
  if ((${#pdfs[@]})); then
    printf '<p>PDFs:'
    for pdf in "${pdfs[@]}"; do
      printf ' <a href="%s">%s</a>' "$(html_escape "$pdf")" "$(html_escape "$pdf")"
    done
    printf '</p>\n'
  fi
  for png in "${pngs[@]}"; do
    name=$(html_escape "$png")
    printf '<figure><a href="%s"><img src="%s" alt="%s" loading="lazy"></a><figcaption>%s · %s · %d bytes</figcaption></figure>\n' \
      "$name" "$name" "$name" "$name" "$(png_size "$directory/$png")" "$(stat -c %s "$directory/$png")"
  done
  printf '</body></html>\n'
} >"$index"

missing=() blank=()
while IFS= read -r name || [[ -n $name ]]; do
  name=${name%%#*}
  name=${name//[[:space:]]/}
  [[ -z $name ]] && continue
  file="$directory/$name.png"
  if [[ ! -f $file ]]; then
    missing+=("$name")
  elif ! is_png "$file" || (($(stat -c %s "$file") < min_bytes)); then
    blank+=("$name ($(stat -c %s "$file") bytes)")
  fi
done <"$expected"

echo "screenshots: ${#pngs[@]} in $index"
status=0
if ((${#missing[@]})); then
  printf 'screenshots: missing from %s (expected by %s):\n' "$directory" "$expected" >&2
  printf '  %s.png\n' "${missing[@]}" >&2
  status=1
fi
if ((${#blank[@]})); then
  printf 'screenshots: empty, blank or not a PNG (under %d bytes):\n' "$min_bytes" >&2
  printf '  %s\n' "${blank[@]}" >&2
  status=1
fi
exit "$status"
