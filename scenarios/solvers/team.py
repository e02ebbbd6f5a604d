"""What a scripted team may use, and nothing more: its own credentials
(`enshu credentials`, as the instructor hands them out), the SSH way in to
its analyst workstation, the hosts it may log in to from there (reached
through the workstation, as `ssh -J` would), and the team portal's JSON
API. Solvers (`scenarios/solvers/<scenario>.py`) import this module.

    team = Team.from_session(session, index, portal)
    team.wait_message(lambda m: "C2" in m["body"])
    team.on("analyst", "ip -4 addr")            # the way-in host
    team.on("10.0.20.101", "ps -eo comm", user="staff")
    team.answer("patient-zero", "10.0.30.102")
"""
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

ENSHU = os.environ.get("ENSHU_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "release", "enshu")
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]


# An IPv4 address in a message's text.
IPV4 = r"\b\d{1,3}(?:\.\d{1,3}){3}\b"


def now():
    """The time a report states, as its datetime fields take it."""
    return time.strftime("%Y-%m-%dT%H:%M")


def say(team, text):
    print(f"[team {team}] {text}", flush=True)


class Team:
    def __init__(self, index, portal, token, ssh_port, ssh_user, password, ssh_host="127.0.0.1"):
        self.index, self.portal, self.token = index, portal.rstrip("/"), token
        self.ssh_port, self.ssh_user, self.password, self.ssh_host = ssh_port, ssh_user, password, ssh_host
        # The portal's certificate is the session's own (self-signed).
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    @classmethod
    def from_session(cls, session, index, portal, access_port=2201):
        output = subprocess.run([ENSHU, "credentials", "--session", session, "--output", "json",
                                 "--base-port", str(access_port)],
                                check=True, capture_output=True, text=True).stdout
        entry = json.loads(output)["teams"][index - 1]
        return cls(index, portal, entry["portal_token"], entry["ssh_port"],
                   entry["user"], entry["password"])

    def say(self, text):
        say(self.index, text)

    # --- the portal's JSON API -------------------------------------------
    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.portal + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "Accept-Language": "ja"})
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None
        return json.loads(text) if text else None

    def overview(self):
        return self.api("GET", "/api/team")

    def hosts(self):
        """The team's network map: `segment/host` → address."""
        return self.overview()["hosts"]

    def wait_message(self, predicate, limit=600, what="a message"):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for message in self.overview()["messages"]:
                if predicate(message):
                    return message
            time.sleep(2)
        raise RuntimeError(f"no {what} arrived within {limit} s")

    def answer(self, objective, value):
        result = self.api("POST", "/api/team/answers", {"objective": objective, "answer": value})
        self.say(f"answered {objective}: {value}")
        return result

    def report(self, form, fields):
        result = self.api("POST", "/api/team/reports", {"form": form, "fields": fields})
        self.say(f"sent report {form}")
        return result

    def block(self, address):
        result = self.api("POST", "/api/team/firewall", {"action": "block", "address": address})
        self.say(f"blocked {address} at the team's firewall")
        return result

    def objective_status(self):
        return {objective["id"]: objective["status"] for objective in self.overview()["objectives"]}

    # --- shells inside the range -----------------------------------------
    def _way_in(self):
        return ["sshpass", "-p", self.password, "ssh", *SSH_OPTIONS, "-p", str(self.ssh_port),
                f"{self.ssh_user}@{self.ssh_host}"]

    def on(self, host, command, user=None, stdin=None, check=True, timeout=120):
        """Run `command` on `host`: "analyst" is the way-in workstation;
        any other host is an address reached from it (user `user`, the
        team's password), as `ssh -J analyst@way-in user@host` does."""
        if host == "analyst":
            argv = [*self._way_in(), command]
        else:
            jump = " ".join(shlex.quote(part) for part in [*self._way_in(), "-W", "%h:%p"])
            argv = ["sshpass", "-p", self.password, "ssh", *SSH_OPTIONS, "-o", f"ProxyCommand={jump}",
                    f"{user}@{host}", command]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"on {host} as {user or self.ssh_user}: `{command}` exited {result.returncode}: "
                               f"{result.stderr.strip()[-400:]}")
        return result.stdout

    def wait_on(self, host, command, predicate, user=None, limit=300, what=None):
        """Re-run `command` on `host` until `predicate(output)` holds."""
        deadline = time.monotonic() + limit
        output = ""
        while time.monotonic() < deadline:
            output = self.on(host, command, user=user, check=False)
            if predicate(output):
                return output
            time.sleep(3)
        raise RuntimeError(f"{what or command!r} on {host}: not seen within {limit} s (last output {output[-300:]!r})")


class Instructor:
    """The instructor's side a solver plays for judged objectives: the
    instructor API with the session's instructor token."""

    def __init__(self, session, portal):
        output = subprocess.run([ENSHU, "credentials", "--session", session, "--output", "json"],
                                check=True, capture_output=True, text=True).stdout
        self.helper = Team(0, portal, json.loads(output)["instructor_token"], 0, "", "")

    def grade(self, team, report_seq, objective, scores):
        result = self.helper.api("POST", f"/api/instructor/teams/{team}/reports/{report_seq}/grade",
                                 {"objective": objective, "scores": scores, "author": "scripted instructor"})
        say(team, f"the instructor graded report {report_seq} for {objective}: {sum(scores.values())} points")
        return result


def main(solve):
    """Entry point of a solver:
    `solver.py SESSION TEAM_INDEX PORTAL_URL [--access-port PORT]`;
    `solve(team, instructor)` plays the team (and grades as the instructor)."""
    arguments = sys.argv[1:]
    access_port = 2201
    if len(arguments) == 5 and arguments[3] == "--access-port":
        access_port = int(arguments.pop(4))
        arguments.pop(3)
    if len(arguments) != 3:
        sys.exit(f"usage: {sys.argv[0]} SESSION TEAM_INDEX PORTAL_URL [--access-port PORT]")
    session, index, portal = arguments[0], int(arguments[1]), arguments[2]
    team = Team.from_session(session, index, portal, access_port)
    instructor = Instructor(session, portal)
    try:
        solve(team, instructor)
    except Exception as error:  # the solver's reason, not a traceback, for the instructor
        team.say(f"FAILED: {error}")
        sys.exit(1)
    team.say("done")
