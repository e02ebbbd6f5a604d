//! Central logging: the collectors exist, are syslog hosts of the team's
//! range, and every host that forwards to them can reach them on the log
//! port (logs travel over TCP, spooled, so a flow must allow `tcp/514`).

use crate::model::*;

use super::Checker;

/// How many of the hosts that cannot reach a collector an error names.
const NAMED: usize = 4;

impl Checker<'_> {
    pub(super) fn logging(&mut self) {
        let Some(logging) = &self.scenario.logging else {
            return;
        };
        if logging.collectors.is_empty() {
            self.error(
                "logging.collectors",
                "name at least one collector (a syslog host, e.g. lgwan/log01)",
            );
            return;
        }
        let mut collectors: Vec<&Host> = Vec::new();
        for (index, reference) in logging.collectors.iter().enumerate() {
            let path = format!("logging.collectors[{index}]");
            let host = match self.topology.host_ref(reference) {
                Ok(host) => host,
                Err(message) => {
                    self.error(path, message);
                    continue;
                }
            };
            if host.image != ImageRole::Syslog {
                self.error(
                    path,
                    format!(
                        "{reference} is a {} host; a collector must be a syslog host (image: syslog)",
                        host.image.as_str()
                    ),
                );
                continue;
            }
            if !self.topology.is_team_host(host) {
                self.error(
                    path,
                    format!("{reference} is outside the team's range; a collector must be one of the team's hosts"),
                );
                continue;
            }
            if collectors.iter().any(|seen| seen.name == host.name) {
                self.error(path, format!("{reference} is named twice"));
                continue;
            }
            collectors.push(host);
            let unreachable: Vec<String> = self
                .scenario
                .hosts
                .iter()
                .filter(|sender| {
                    self.topology.is_team_host(sender)
                        && !logging.collectors.iter().any(|collector| {
                            self.topology
                                .host_ref(collector)
                                .is_ok_and(|collector| collector.name == sender.name)
                        })
                        && !self.topology.reaches(sender, host, Protocol::Tcp, LOG_PORT)
                })
                .map(|sender| format!("{}/{}", sender.segment, sender.name))
                .collect();
            if !unreachable.is_empty() {
                let mut named = unreachable[..unreachable.len().min(NAMED)].join(", ");
                if unreachable.len() > NAMED {
                    named.push_str(&format!(" and {} more", unreachable.len() - NAMED));
                }
                self.error(
                    path,
                    format!(
                        "no flow lets the logs of {named} reach {reference} on tcp/{LOG_PORT} \
                         (logs are forwarded over TCP); add a flow such as \
                         {{from: \"*\", to: {reference}, ports: tcp/{LOG_PORT}}}"
                    ),
                );
            }
        }
    }
}
