#!/bin/sh
# Loads a team router's firewall rules where the controller cannot load
# them from outside: writes the ruleset to /etc/enshu/rules.nft and runs
# `nft -f` on it.
# Runs inside the team's router container (`sh -c`).
# Arguments: $1 the nftables ruleset, base64-encoded.
set -e; mkdir -p /etc/enshu; printf '%s' "$1" | base64 -d > /etc/enshu/rules.nft; nft -f /etc/enshu/rules.nft
