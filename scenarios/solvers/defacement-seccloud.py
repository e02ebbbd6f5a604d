#!/usr/bin/env python3
"""The solver of scenarios/defacement-seccloud.yaml: a scripted team that
meets every objective with what trainees have (the citizen's call in the
portal, the SSH way in to the analyst workstation, the team's log server
(the website's forwarded access log), the website's server it may log in
to from there as the site administrator `webadmin`, the backup server, the
report forms), and a scripted instructor who grades the judged notice.

    python3 scenarios/solvers/defacement-seccloud.py SESSION TEAM PORTAL [--access-port PORT]
"""
import collections
import ipaddress
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from team import main, now  # noqa: E402


def solve(team, instructor):
    # A citizen calls: the city's website shows a virus warning.
    team.wait_message(lambda m: m["channel"] == "phone", what="the citizen's call")
    hosts = team.hosts()
    web = hosts["seccloud/sc-web"]
    team.say(f"the website is {web}; logging in as its administrator")
    team.report("first-report", {
        "recipients": ["ciso", "prefecture", "vendor"], "reporter": "情報政策課 演習チーム 内線1234",
        "noticed_at": now(), "trigger": "outside_report", "category": "defacement",
        "affected_hosts": web, "affected_segments": "seccloud", "personal_data": "no",
        "actions": f"{now()} 市民からの連絡で改ざんを覚知。セキュリティクラウド上の {web} を調査開始",
        "status": "調査中"})

    # Detection: the website's access log, forwarded to the team's log
    # server, shows who guessed the admin password (its 401s); the web
    # root holds a PHP file a static site has no use for.
    log01 = hosts["lgwan/log01"]
    access = team.wait_on(log01, "grep -h -e '\" 401 ' /var/log/remote/sc-web.log || true",
                          lambda text: '" 401 ' in text, user="logs", what="failed admin logins at the log server")
    failures = collections.Counter(re.findall(r"access\.log: (\S+) ", access))
    attacker, count = failures.most_common(1)[0]
    team.say(f"the log server holds {count} failed admin login(s) from {attacker}")
    team.answer("attacker-address", attacker)
    shells = team.wait_on(web, "find /var/www/html -name '*.php'", lambda text: ".php" in text,
                          user="webadmin", what="a PHP file in the web root").split()
    team.answer("webshell-path", shells[0].rsplit("/", 1)[1])

    # Response: remove the webshell; restrict the admin page to the city's
    # own networks (the site administrator's nginx include, loaded within
    # seconds) — the LGWAN segment the team works from and the security
    # cloud itself.
    team.on(web, "rm -f -- " + " ".join(shlex.quote(path) for path in shells), user="webadmin")
    team.say(f"removed {' '.join(shells)}")
    internal = sorted({str(ipaddress.ip_network(f"{hosts[name]}/24", strict=False))
                       for name in ("lgwan/analyst", "seccloud/sc-web")})
    allow = "".join(f"    allow {network};\n" for network in internal)
    config = ("# Admin page for the city's own networks only (incident response).\n"
              "location /admin/ {\n" + allow + "    deny all;\n"
              "    auth_basic \"Saida City CMS\";\n"
              "    auth_basic_user_file /run/enshu/htpasswd;\n}\n")
    before = team.on(web, "cat /run/enshu/site.state", user="webadmin")
    team.on(web, "cat > /etc/nginx/site.d/admin.conf", user="webadmin", stdin=config)
    state = team.wait_on(web, "cat /run/enshu/site.state", lambda text: text.strip() and text != before,
                         user="webadmin", what="nginx taking the new admin.conf")
    if not state.startswith("loaded"):
        raise RuntimeError(f"nginx refused admin.conf: {team.on(web, 'cat /run/enshu/site.error', user='webadmin')}")
    team.say(f"/admin/ restricted to {', '.join(internal)}")

    # Recovery: the genuine top page from the city's backup server (its
    # offline copy, restored over SSH as the site's administrator, whose
    # password `restore` asks for), and a new password for the CMS account
    # the attacker used.
    page = team.wait_on(web, "grep -c 'ウイルス' /var/www/html/index.html || true", lambda text: text.strip() != "0",
                        user="webadmin", what="the defaced page")
    backup = team.hosts()["lgwan/backup01"]
    listing = team.on(backup, "restore --list", user="backup")
    if "sc-web" not in listing:
        raise RuntimeError(f"the backup server keeps no copy of sc-web: {listing!r}")
    team.on(backup, "restore sc-web /var/www/html/index.html", user="backup", stdin=team.password + "\n")
    team.say(f"restored index.html from the backup server {backup} ({page.strip()} defaced line(s) gone)")
    password = "Saida-" + team.password[:8]
    team.on(web, "printf 'admin:%s\\n' \"$(openssl passwd -apr1 -stdin)\" > /run/enshu/htpasswd",
            user="webadmin", stdin=password + "\n")
    team.say("changed the CMS admin password")

    final = team.report("final-report", {
        "summary": f"CMS管理画面が {attacker} からのパスワード総当たりで突破され、Webシェル設置とトップページ改ざんが行われた。",
        "secondary_damage": "閲覧者が偽のサポート詐欺サイトへ誘導されたおそれ",
        "public_notice": "市ホームページが一時改ざんされ、偽のウイルス警告が表示されていました。表示された電話番号には連絡しないでください。現在は復旧済みです。お問い合わせ: 情報政策課 0120-000-000",
        "recurrence_prevention": "管理画面を庁内ネットワークからのみに制限、管理者パスワードの変更と多要素認証の導入"})
    instructor.grade(team.index, final["seq"], "public-notice", {"public-notice-0": 30, "public-notice-1": 20})


if __name__ == "__main__":
    main(solve)
