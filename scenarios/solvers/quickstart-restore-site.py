"""Runs on team 1's analyst workstation, as a trainee would: log in to the
web server as its administrator, read the access log for who changed the
site (WRITER <address> <request> for every successful write request),
compare the live site with the backup the administrator keeps, and copy
back every file that differs. Prints RESTORED <files> when the live site
matches the backup again."""
import os
import pty
import sys

www, password = sys.argv[1], sys.argv[2]


def ssh(command):
    """ssh with a password typed at the prompt (no sshpass on the workstation)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", "ConnectTimeout=5", f"webadmin@{www}", command])
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


for line in ssh("cat /var/log/nginx/access.log").splitlines():
    fields = line.split('"')
    if len(fields) > 2 and fields[1].split(" ")[0] in ("PUT", "POST", "DELETE") and fields[2].split()[0].startswith("2"):
        print("WRITER", line.split()[0], fields[1], flush=True)
changed = [line.split()[-1] for line in ssh("cd /var/backups/www && for f in $(find . -type f); do cmp -s $f /var/www/html/$f || echo CHANGED $f; done").splitlines()
           if line.startswith("CHANGED")]
print("changed against the backup:", " ".join(changed) or "nothing", flush=True)
if changed:
    files = " ".join(changed)
    ssh(f"cd /var/backups/www && for f in {files}; do cp --remove-destination -- $f /var/www/html/$f; done")
    left = [line for line in ssh("cd /var/backups/www && for f in " + " ".join(changed) + "; do cmp -s $f /var/www/html/$f || echo STILL $f; done").splitlines()
            if line.startswith("STILL")]
    if not left:
        print("RESTORED", " ".join(changed), flush=True)
    else:
        print("NOT RESTORED", " ".join(left), flush=True)
