//! What the target's image can carry: every artefact and traffic inject
//! and every automatic check against the table of its host's role
//! ([`crate::roles::support`]). A scenario that passes does not fail at
//! run time for want of a writable path, a tool, an account or a port.

use crate::model::*;
use crate::roles::{self, C2_ROLES, Reach};

use super::Checker;

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// `a file`, `an encrypt`, `an http`: the kind with its article.
fn a(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o']) || kind == "http" {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn writable_paths(role: ImageRole) -> String {
    roles::hardening_for(role).tmpfs.join(", ")
}

/// The directory a path or glob lies in for sure: the path itself, or the
/// directory before its first pattern character.
fn fixed_prefix(path: &str) -> &str {
    let Some(pattern) = path.find(['*', '?', '[']) else {
        return path;
    };
    let head = &path[..pattern];
    match head.rfind('/') {
        Some(0) | None => "/",
        Some(slash) => &head[..slash],
    }
}

impl Checker<'_> {
    /// Every inject and check against its target's role.
    pub(super) fn role_support(&mut self) {
        for (index, inject) in self.scenario.injects.iter().enumerate() {
            let Ok(host) = self.topology.host_ref(&inject.target) else {
                continue;
            };
            if host.image == ImageRole::Backup {
                continue; // refused as offline (`Checker::backups`)
            }
            let path = format!("injects[{index}].action");
            match &inject.action {
                Action::Artefact(artefact) => {
                    self.artefact_support(&format!("{path}.artefact"), host, artefact)
                }
                Action::Traffic(traffic) => {
                    let support = roles::support(host.image);
                    if !support.originates(traffic.kind) {
                        self.error(
                            format!("{path}.traffic.kind"),
                            format!(
                                "host {}/{} (role {}) cannot originate {} traffic; it originates {}",
                                host.segment,
                                host.name,
                                host.image.as_str(),
                                traffic.kind.as_str(),
                                names(support.traffic, |kind| kind.as_str())
                            ),
                        );
                    }
                }
                // A mail inject's sender is judged with the mail block.
                Action::Replay(_) | Action::Message(_) | Action::Mail(_) => {}
            }
        }
        for (index, objective) in self.scenario.objectives.iter().enumerate() {
            if let Evidence::Check(check) = &objective.evidence {
                self.check_support(&format!("objectives[{index}].evidence.check"), check);
            }
        }
    }

    fn artefact_support(&mut self, path: &str, host: &Host, artefact: &Artefact) {
        let role = host.image;
        let support = roles::support(role);
        let where_ = format!(
            "host {}/{} (role {})",
            host.segment,
            host.name,
            role.as_str()
        );
        let Some(reach) = support.artefact(artefact.kind) else {
            self.error(
                format!("{path}.kind"),
                format!(
                    "{where_} cannot take {} artefact; it takes {}",
                    a(artefact.kind.as_str()),
                    names(&support.artefact_kinds(), |kind| kind.as_str())
                ),
            );
            return;
        };
        if let Some(file_path) = &artefact.path
            && file_path.starts_with('/')
            && !roles::reaches(role, reach, file_path)
        {
            let allowed = match reach {
                Reach::Under(directories) => directories.join(", "),
                Reach::NoPath | Reach::Writable => writable_paths(role),
            };
            let why = if roles::writable(role, file_path) {
                String::new()
            } else {
                " is on the read-only root and".to_string()
            };
            self.error(
                format!("{path}.path"),
                format!(
                    "{file_path:?}{why} is out of reach of {} artefact on {where_}; it may write under {allowed}",
                    a(artefact.kind.as_str())
                ),
            );
        }
        if artefact.kind == ArtefactKind::User
            && let Some(name) = &artefact.name
            && support.accounts.contains(&name.as_str())
        {
            self.error(
                format!("{path}.name"),
                format!(
                    "user {name:?} already exists on {where_}: a user artefact adds a new account (the image's are {})",
                    support.accounts.join(", ")
                ),
            );
        }
    }

    fn check_support(&mut self, path: &str, check: &Check) {
        let Ok(host) = self.topology.host_ref(&check.target) else {
            return;
        };
        let role = host.image;
        let support = roles::support(role);
        let where_ = format!(
            "host {}/{} (role {})",
            host.segment,
            host.name,
            role.as_str()
        );
        if !support.takes_check(check.kind) {
            self.error(
                format!("{path}.kind"),
                format!(
                    "{where_} cannot be the target of {} check; it takes {}",
                    a(check.kind.as_str()),
                    names(support.checks, |kind| kind.as_str())
                ),
            );
            return;
        }
        match check.kind {
            CheckKind::FilePresent | CheckKind::FileAbsent | CheckKind::FileHash => {
                if let Some(file_path) = &check.path
                    && file_path.starts_with('/')
                    && !roles::writable(role, fixed_prefix(file_path))
                {
                    self.error(
                        format!("{path}.path"),
                        format!(
                            "{file_path:?} is on the read-only root of {where_}: nothing there can appear, change or go away; its writable paths are {}",
                            writable_paths(role)
                        ),
                    );
                }
            }
            // A directory's accounts are the scenario's (`Checker::directory`).
            CheckKind::AccountDisabled if role == ImageRole::Directory => {}
            CheckKind::AccountDisabled => {
                if let Some(name) = &check.name
                    && !support.accounts.contains(&name.as_str())
                {
                    self.error(
                        format!("{path}.name"),
                        format!(
                            "{where_} has no account {name:?} the check can judge; its accounts are {}",
                            names(support.accounts, |account| account)
                        ),
                    );
                }
            }
            CheckKind::PortOpen => {
                if let Some((port, _)) = check.port.and_then(|port| port.ports)
                    && !support.serves_tcp(port)
                {
                    self.error(
                        format!("{path}.port"),
                        format!(
                            "nothing listens on tcp/{port} on {where_}, so the port_open check can never pass; it serves {}",
                            names(support.ports, |port| port)
                        ),
                    );
                }
            }
            CheckKind::Http => {
                let port = check
                    .port
                    .and_then(|port| port.ports)
                    .map(|(low, _)| low)
                    .unwrap_or(80);
                if !support.http_ports.contains(&port) {
                    let field = if check.port.is_some() { "port" } else { "kind" };
                    let served: Vec<String> = support
                        .http_ports
                        .iter()
                        .map(|port| format!("tcp/{port}"))
                        .collect();
                    self.error(
                        format!("{path}.{field}"),
                        format!(
                            "nothing answers HTTP on tcp/{port} on {where_}; it answers HTTP on {}",
                            names(&served, String::as_str)
                        ),
                    );
                }
            }
            CheckKind::NoBeacon => {
                let Some(to) = &check.to else {
                    return;
                };
                let Ok(peer) = self.topology.host_ref(to) else {
                    return;
                };
                if !C2_ROLES.contains(&peer.image) {
                    self.error(
                        format!("{path}.to"),
                        format!(
                            "no_beacon watches the beacons sent to a C2, and host {to} (role {}) is none; `to` must be a host of role {}",
                            peer.image.as_str(),
                            names(C2_ROLES, |role| role.as_str())
                        ),
                    );
                } else if peer.segment == host.segment {
                    // The router counts the beacons it forwards; traffic
                    // within one segment never reaches it.
                    self.error(
                        format!("{path}.to"),
                        format!(
                            "host {to} is in segment {} with {where_}: a beacon between them never crosses the team's router, where no_beacon counts beacons; put the C2 in another segment",
                            peer.segment
                        ),
                    );
                }
            }
            // Judged against the directory's accounts (`Checker::directory`).
            CheckKind::PasswordChanged | CheckKind::NotInGroup => {}
            CheckKind::PortClosed
            | CheckKind::ProcessAbsent
            | CheckKind::Restored
            | CheckKind::Command => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixed_prefix;

    #[test]
    fn a_globs_fixed_prefix_is_its_directory() {
        assert_eq!(
            fixed_prefix("/var/www/html/uploads/*.php"),
            "/var/www/html/uploads"
        );
        assert_eq!(
            fixed_prefix("/home/staff/.cache/update.sh"),
            "/home/staff/.cache/update.sh"
        );
        assert_eq!(fixed_prefix("/tmp*"), "/");
        assert_eq!(fixed_prefix("/*"), "/");
        assert_eq!(fixed_prefix("/etc"), "/etc");
    }
}
