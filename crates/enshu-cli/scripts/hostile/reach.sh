#!/usr/bin/env bash
# Hostile: reach team 2 and this machine over TCP, UDP and ICMP: team 2's
# hosts on their services, this machine's portal, ways in (team 2's
# too) and Docker's API ports, each on every address of the machine.
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, host, team2, ports are lib.sh's
for address in "${team2[@]}"; do
  for port in 22 80 8080 9; do at_once unreached "tcp team 2 $address:$port" tcp "$address" "$port"; done
  for port in 53 514 9; do at_once unreached "udp team 2 $address:$port" udp "$address" "$port"; done
  at_once unreached "icmp team 2 $address" icmp "$address" 0
done
for address in "${host[@]}"; do
  for port in "${ports[@]}"; do at_once unreached "tcp host $address:$port" tcp "$address" "$port"; done
  for port in 53 514 9; do at_once unreached "udp host $address:$port" udp "$address" "$port"; done
  at_once unreached "icmp host $address" icmp "$address" 0
done
finish
