#!/usr/bin/env python3
"""The solver of scenarios/usb-lgwan.yaml: a scripted team that meets every
objective with what trainees have (the contractor's call in the portal, the
SSH way in to the analyst workstation, the clerk's PC it may log in to from
there, the file server's share with smbclient, the report forms), and a
scripted instructor who grades the judged recurrence prevention.

    python3 scenarios/solvers/usb-lgwan.py SESSION TEAM PORTAL [--access-port PORT]
"""
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from team import IPV4, main, now  # noqa: E402

def solve(team, instructor):
    # Detection: the network-monitoring contractor's call names the PC.
    call = team.wait_message(lambda m: m["channel"] == "phone" and re.search(IPV4, m["body"]),
                             what="the monitoring contractor's call")
    pc = re.findall(IPV4, call["body"])[0]
    team.say(f"the contractor reports suspicious traffic from {pc}")
    team.answer("infected-pc", pc)
    team.report("first-report", {
        "recipients": ["ciso", "prefecture"], "reporter": "情報政策課 演習チーム 内線1234",
        "noticed_at": now(), "trigger": "outside_report", "category": "malware",
        "affected_hosts": pc, "affected_segments": "lgwan", "personal_data": "no",
        "actions": f"{now()} 監視業者から {pc} の不審な通信について連絡を受領。端末の調査を開始",
        "status": "調査中"})

    # On the PC, as the clerk: the system log shows the USB stick and what
    # started from it.
    syslog = team.wait_on(pc, "cat /var/log/syslog", lambda text: "started from /" in text, user="staff",
                          what="the program started from the USB stick")
    sample = re.search(r"started from (\S+)", syslog).group(1)
    name = sample.rsplit("/", 1)[1]
    process = re.search(r"(\w+)\[\d+\]: started from", syslog).group(1)
    team.answer("infection-file", name)
    digest = team.on(pc, f"sha256sum {shlex.quote(sample)}", user="staff").split()[0]
    team.answer("sample-hash", digest)

    # Response: stop the resident process (it runs as the clerk).
    pids = team.on(pc, f"pgrep -u staff -x {shlex.quote(process)} || true", user="staff").split()
    if not pids:
        raise RuntimeError(f"no {process} process runs on {pc}")
    team.on(pc, "kill " + " ".join(pids), user="staff")
    team.say(f"stopped {process} ({' '.join(pids)}) on {pc}")

    # The worm copies itself to the shares it reaches: look on the file
    # server's share, from the analyst workstation, and delete the copy.
    fs01 = team.hosts()["lgwan/fs01"]
    share = f"//{fs01}/share"
    login = shlex.quote(f"staff%{team.password}")
    listing = team.wait_on("analyst", f"smbclient {share} -U {login} -c 'recurse ON; ls'",
                           lambda text: name in text, what=f"a copy of {name} on {share}")
    folder = ""
    for line in listing.splitlines():
        if line.startswith("\\"):
            folder = line.strip().lstrip("\\")
        elif line.strip().startswith(name):
            break
    remote = f"{folder}\\{name}" if folder else name
    team.on("analyst", f"smbclient {share} -U {login} -c {shlex.quote(f'del {chr(34)}{remote}{chr(34)}')}")
    team.say(f"deleted {remote} on {share}")

    # Recovery: remove the sample from the clerk's PC (the hash is noted).
    team.on(pc, f"rm -f -- {shlex.quote(sample)}", user="staff")
    team.say(f"removed {sample} on {pc}")

    # Reporting: the vendor's analysis, then the follow-up and final reports.
    analysis = team.wait_message(lambda m: m["channel"] == "vendor_report", what="the vendor's analysis")

    # Response: the vendor says the worm made itself a directory account;
    # disable it as the domain's Administrator, over LDAP from the analyst
    # workstation (the account stays, for the investigation).
    account = re.search(r"\b(svc-[\w-]+)", analysis["body"]).group(1)
    dc01 = team.hosts()["lgwan/dc01"]
    admin = shlex.quote(f"Administrator%{team.password}")
    team.on("analyst", f"samba-tool user disable {shlex.quote(account)} -H ldap://{dc01} -U {admin}")
    team.say(f"disabled the directory account {account} on {dc01}")
    team.report("follow-up-report", {
        "category": "malware",
        "cause": "保守業者から受け取ったUSBメモリ内の実行ファイルを職員が開いた",
        "intrusion_method": "外部記録媒体（USBメモリ）",
        "iocs": f"{name} sha256={digest} / プロセス名 {process}",
        "ppc_report_required": "no",
        "vendor_support": "検体の解析と、同じUSBメモリを使用した端末の調査",
        "actions": f"{now()} {process} を停止、{pc} と共有フォルダ上の {name} を削除、ディレクトリのアカウント {account} を無効化"})
    final = team.report("final-report", {
        "summary": f"保守業者のUSBメモリ経由で {pc} がワームに感染し、ファイルサーバの共有フォルダへ自身を複製した。C2への通信は三層分離により遮断されていた。",
        "secondary_damage": "なし（外部への通信は遮断）",
        "public_notice": "個人情報の漏えいは確認されておらず、公表は不要と判断",
        "recurrence_prevention": "外部記録媒体は情報政策課の検査・許可を得てから使用する。委託先には持込み媒体の事前検査と報告を契約で求める。全職員に周知し研修を行う。"})
    instructor.grade(team.index, final["seq"], "usb-rules",
                     {"usb-rules-0": 20, "usb-rules-1": 20, "usb-rules-2": 10})


if __name__ == "__main__":
    main(solve)
