#!/bin/bash
# Prints the uid owning the deepest existing ancestor of a path.
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 path.
existing=$(deepest_existing "$1"); stat -c '%u' -- "$existing"
