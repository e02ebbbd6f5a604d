# shellcheck shell=bash
# Fetches URL $1 with timeout $2 s; prints the status and the body's SHA-256.
body=$(mktemp) || exit 1
status=$(curl -s -m "$2" -o "$body" -w '%{http_code}' -- "$1")
echo "${status:-000} $(sha256sum < "$body" | cut -d' ' -f1)"
rm -f -- "$body"
