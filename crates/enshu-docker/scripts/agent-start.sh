#!/bin/bash
# Starts the exec agent: python3, unbuffered, named `enshu-agent` in `ps`,
# running the bootstrap, which reads agent.py from the first line of stdin.
# Runs inside a range container (`bash -c`, as root, stdin attached).
# Arguments: $1 the bootstrap (Python program text), $2 the output limit.
exec -a enshu-agent python3 -u -c "$1" "$2"
