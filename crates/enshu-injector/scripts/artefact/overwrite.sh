#!/bin/bash
# Writes staged file $1 over file $2 in place (the same inode, so its
# owner, group and mode stay, as when a page is rewritten through the
# site), then removes the staged copy.
# Runs inside a range container (`bash -c`).
# Arguments: $1 staged file, $2 file.
set -e
cat -- "$1" > "$2"
rm -f -- "$1"
