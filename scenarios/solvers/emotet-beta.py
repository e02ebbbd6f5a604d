#!/usr/bin/env python3
"""The solver of scenarios/emotet-beta.yaml: a scripted team that meets
every objective with what trainees have (the SOC's mail in the team
mailbox, the SSH way in to the analyst workstation and its sensor
interfaces, the team's log server (firewall log, the hosts' forwarded
logs), the staff PC and the mail server it may log in to from there, the
team's firewall and the report forms), and a scripted instructor who
grades the judged notice.

    python3 scenarios/solvers/emotet-beta.py SESSION TEAM PORTAL [--access-port PORT]
"""
import collections
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from team import IPV4, main, now  # noqa: E402

def solve(team, instructor):
    # Detection: the security cloud SOC's mail, read in the team mailbox
    # with the analyst workstation's mail client, names the outside server
    # the city's internet segment beacons to (with :8080), not the PC.
    hosts = team.hosts()
    mailbox = hosts["lgwan/lgmail"]
    read = (f"timeout 30 s-nail -N -# -S 'password-team@{mailbox}={team.password}' "
            "-Y headers -Y 'print 1' -Y quit -f +INBOX </dev/null")
    beacon = re.compile(rf"({IPV4}):8080")
    alert = team.wait_on("analyst", read, lambda text: beacon.search(text) is not None,
                         limit=600, what="the SOC's alert in the team mailbox")
    c2 = beacon.search(alert).group(1)
    team.say(f"the SOC's mail in the team mailbox reports beacons to {c2}")
    team.answer("c2-address", c2)

    # What the beacon asks the C2 for is in no log: the analyst's sensor
    # interface on the internet segment (cap-inet) carries a copy of every
    # frame crossing it, so a capture of the requests to the C2's port shows
    # their HTTP request lines (captured before the block cuts them off).
    capture = ("sudo -S -p '' timeout 100 tcpdump -i cap-inet -nn -l -A "
               f"'tcp dst port 8080 and dst host {c2}' 2>/dev/null "
               "| grep -a -o -m 3 -E '(GET|POST) /[^ ]*' || true")
    requests = []
    deadline = time.monotonic() + 300
    while not requests and time.monotonic() < deadline:
        lines = team.on("analyst", capture, stdin=team.password + "\n", check=False, timeout=130)
        requests = re.findall(r"(?:GET|POST) (/\S*)", lines)
    if not requests:
        raise RuntimeError(f"no HTTP request to {c2}:8080 seen on the sensor (cap-inet) within 300 s")
    path, seen = collections.Counter(requests).most_common(1)[0]
    team.say(f"the sensor (cap-inet) shows {len(requests)} request(s) to {c2}:8080, {seen} of them for {path}")
    team.answer("beacon-path", path)

    # The PC: the team's log server keeps the router's firewall log; the
    # connections to the C2's port name their source.
    log01 = hosts["lgwan/log01"]
    firewall = team.wait_on(log01, f"grep -h -e ' DST={c2} ' /var/log/remote/router.log | grep DPT=8080 || true",
                            lambda text: "SRC=" in text, user="logs", what=f"connections to {c2} in the firewall log")
    sources = collections.Counter(re.findall(rf"SRC=({IPV4})", firewall))
    pc, connections = sources.most_common(1)[0]
    pc_name = next(reference.split("/", 1)[1] for reference, address in hosts.items() if address == pc)
    team.say(f"the firewall log at {log01} shows {connections} connection(s) from {pc} ({pc_name}) to {c2}:8080")
    team.answer("patient-zero", pc)

    # Response: cut the PC off from the C2 at the team's firewall, keeping
    # it running for the evidence.
    team.block(c2)
    team.report("first-report", {
        "recipients": ["ciso", "prefecture"], "reporter": "情報政策課 演習チーム 内線1234",
        "noticed_at": now(), "trigger": "soc_alert", "category": "malware",
        "affected_hosts": pc, "affected_segments": "inet", "personal_data": "no",
        "actions": f"{now()} SOCの通報を受領。{pc} が {c2}:8080 へ通信していることを確認し、FWで {c2} を遮断（端末は稼働のまま保全）",
        "status": "封じ込め中、調査継続"})

    # The PC's EDR log, forwarded to the log server, names the loader and
    # its hash.
    edr = team.wait_on(log01, f"grep -h -e 'EDR alert' /var/log/remote/{pc_name}.log || true",
                       lambda text: "sha256=" in text, user="logs", what=f"{pc_name}'s EDR alert at the log server")
    loader_hash = re.search(r"sha256=([0-9a-f]{64})", edr).group(1)
    team.answer("loader-hash", loader_hash)
    dll = re.search(r"\\([^\\\s]+\.dll)", edr).group(1)
    stem = dll.rsplit(".", 1)[0]
    removed = team.on(pc, f"find ~ -iname {dll} -print -delete", user="staff").split()
    team.say(f"removed the loader on {pc}: {' '.join(removed) or 'nothing found'}")
    if not removed:
        raise RuntimeError(f"{dll} not found in the user's profile on {pc}")
    processes = team.on(pc, "ps -u staff -o pid=,comm=", user="staff")
    loaders = [line.split()[0] for line in processes.splitlines() if stem in line]
    if not loaders:
        raise RuntimeError(f"no process of {stem} runs on {pc}: {processes}")
    team.on(pc, "kill " + " ".join(loaders), user="staff")
    team.say(f"stopped the loader's process(es) {' '.join(loaders)} on {pc}")

    # The hijacked mail account: the internet mail server's log, at the
    # log server, shows who sends the spam; its administrator locks that
    # account on the server.
    imail = hosts["inet/imail"]
    log = team.wait_on(log01, "grep -h -e sasl_username= /var/log/remote/imail.log || true",
                       lambda text: "sasl_username=" in text, user="logs", what="mail sent with a staff account")
    account = re.search(r"sasl_username=(\w+)", log).group(1)
    team.on(imail, f"mail-account lock {account}", user="mailadmin")
    team.say(f"locked the mail account {account} on {imail}")

    team.report("follow-up-report", {
        "category": "malware",
        "cause": "取引先を装った返信型メールの添付ファイル（マクロ付き文書）からEmotetに感染",
        "intrusion_method": "メール添付ファイル（パスワード付きZIP）",
        "iocs": f"C2: {c2}:8080 / loader: {dll} sha256={loader_hash}",
        "ppc_report_required": "no",
        "actions": f"{now()} ローダー削除、プロセス停止、メールアカウント {account} を停止"})

    # Reporting: the neighbouring city's call asks for a public notice.
    team.wait_message(lambda m: m["channel"] == "phone", what="the partner's call")
    final = team.report("final-report", {
        "summary": f"職員PC {pc} がEmotetに感染し、C2 {c2} と通信、メールアカウント {account} から取引先へなりすましメールが送信された。",
        "secondary_damage": "取引先へのなりすましメール送信",
        "public_notice": "当市職員を装った不審なメールが送信されています。添付ファイルは開かずに削除してください。お問い合わせ: 情報政策課 0120-000-000",
        "recurrence_prevention": "マクロの既定無効化、EDRの監視強化、職員への注意喚起"})
    instructor.grade(team.index, final["seq"], "spoofing-notice",
                     {"spoofing-notice-0": 20, "spoofing-notice-1": 20, "spoofing-notice-2": 10})


if __name__ == "__main__":
    main(solve)
