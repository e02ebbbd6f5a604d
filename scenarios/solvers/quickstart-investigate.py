"""Runs on team 1's analyst workstation, as a trainee would: find the office
hosts that answer SSH, log in to each as its local administrator and look
for a process talking to the C2 address from the SOC's alert. Prints
INFECTED <address> for each one found. With --remove it looks on the
infected host for scripts dropped into the user's profile since the PC was
set up and deletes them (REMOVED <address> <path>)."""
import os
import pty
import subprocess
import sys

c2, password = sys.argv[1], sys.argv[2]
# With --remove, also delete the downloader the persistence runs.
remove = "--remove" in sys.argv[3:]


def own_address():
    text = subprocess.run(["ip", "-4", "-o", "addr", "show", "eth0"], capture_output=True, text=True).stdout
    return text.split()[3].split("/")[0]


def answers_ssh(address):
    return subprocess.run(["timeout", "1", "bash", "-c", f"</dev/tcp/{address}/22"], capture_output=True).returncode == 0


def ssh(address, command):
    """ssh with a password typed at the prompt (no sshpass on the workstation)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", "ConnectTimeout=5", f"staff@{address}", command])
    output, answered = b"", False
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        output += data
        if not answered and b"assword:" in output:
            os.write(fd, (password + "\n").encode())
            answered = True
    os.waitpid(pid, 0)
    return output.decode(errors="replace")


me = own_address()
prefix = me.rsplit(".", 1)[0]
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(max_workers=32) as pool:
    candidates = [f"{prefix}.{i}" for i in range(2, 254)]
    alive = [address for address, up in zip(candidates, pool.map(answers_ssh, candidates)) if up and address != me]
print("hosts answering ssh:", " ".join(alive), flush=True)
for address in alive:
    if c2 in ssh(address, "ps -eo args"):
        print("INFECTED", address, flush=True)
        if remove:
            # The user's crontab is not readable from a hardened PC, so look
            # for what a downloader leaves: a script dropped into the user's
            # profile since the PC was set up (newer than /etc/hostname).
            found = ssh(address, "find ~ -newer /etc/hostname -type f -exec grep -l '^#!' {} + 2>/dev/null")
            scripts = [line.strip() for line in found.splitlines() if line.strip().startswith("/home/")]
            for script in scripts:
                ssh(address, f"rm -f -- {script}")
                if "gone" in ssh(address, f"test -e {script} || echo gone"):
                    print("REMOVED", address, script, flush=True)
