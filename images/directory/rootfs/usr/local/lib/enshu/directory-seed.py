"""Seed the freshly provisioned domain from the environment (one process:
each samba-tool call costs a second of Python start-up).

argv[1] is the provision's smb.conf. Password policy is relaxed so the
scenario's (and the team's) passwords are taken as written: no
complexity, no minimum length or age, no history, no expiry, no lockout.
Then Administrator gets ENSHU_PASSWORD, the groups of
ENSHU_DIRECTORY_GROUPS are created, and the users of
ENSHU_DIRECTORY_USERS ("name:enabled:group,group" lines) with their
passwords from ENSHU_DIRECTORY_PASSWORDS ("name:password" lines; default
ENSHU_PASSWORD), in their groups, disabled where enabled is 0.
"""

import os
import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main() -> None:
    lp = LoadParm()
    lp.load(sys.argv[1])
    samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    default_password = os.environ.get("ENSHU_PASSWORD") or "enshu"

    policy = ldb.Message(ldb.Dn(samdb, samdb.domain_dn()))
    for attribute, value in [
        ("pwdProperties", "0"),
        ("minPwdLength", "0"),
        ("pwdHistoryLength", "0"),
        ("minPwdAge", "0"),
        ("maxPwdAge", "-9223372036854775808"),
        ("lockoutThreshold", "0"),
    ]:
        policy[attribute] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, attribute)
    samdb.modify(policy)
    samdb.setpassword("(sAMAccountName=Administrator)", default_password)

    passwords = {}
    for line in os.environ.get("ENSHU_DIRECTORY_PASSWORDS", "").splitlines():
        name, separator, password = line.partition(":")
        if separator:
            passwords[name] = password

    for group in os.environ.get("ENSHU_DIRECTORY_GROUPS", "").split():
        samdb.newgroup(group)
        print(f"group {group}")
    for entry in os.environ.get("ENSHU_DIRECTORY_USERS", "").splitlines():
        if not entry.strip():
            continue
        name, enabled, groups = (entry.split(":", 2) + ["", ""])[:3]
        samdb.newuser(name, passwords.get(name, default_password))
        for group in filter(None, groups.split(",")):
            samdb.add_remove_group_members(group, [name], add_members_operation=True)
        if enabled == "0":
            samdb.disable_account(f"(sAMAccountName={ldb.binary_encode(name)})")
        print(f"user {name} groups [{groups}] enabled {enabled != '0'}")


if __name__ == "__main__":
    main()
