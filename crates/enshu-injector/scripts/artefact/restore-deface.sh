#!/bin/bash
# Puts a defaced page's golden copy back (the instructor's undo).
# Runs inside a range container (`bash -c`).
# Arguments: $1 page, $2 golden copy path.
set -e; cat -- "$2" > "$1"
