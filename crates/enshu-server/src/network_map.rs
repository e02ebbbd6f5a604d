//! A drawing of a team's own network for its portal, from the plan the
//! server holds: the router at the top, each segment below it (its label,
//! subnet and the router's address there) with the team's hosts, and the
//! scenario's declared flows as numbered arrows between segments, listed
//! again in words under the drawing (the text alternative).
//!
//! Drawn narrow (360 units wide, scaled to the card) so it reads on a
//! 390 px phone. Hosts outside the team's range (the internet's, such as a
//! C2 server) are never drawn or named: their addresses are answers.

use std::fmt::Write as _;

use enshu_scenario::model::Scenario;
use enshu_scenario::plan::{NetworkSpec, TeamPlan};

use crate::html::escape;
use crate::i18n::{Lang, Msg};

const WIDTH: u64 = 360;
const TRUNK_X: u64 = 14;
const BAND_LEFT: u64 = 30;
const HOST_WIDTH: u64 = 118;
const HOST_HEIGHT: u64 = 34;
const FLOW_LANE: u64 = 14;

/// One endpoint of a flow as the team may read it: a segment, and a host
/// of the team's range or every host (`*`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    segment: String,
    host: Option<String>,
}

fn endpoint(reference: &str) -> Endpoint {
    let (segment, host) = reference.split_once('/').unwrap_or((reference, "*"));
    Endpoint {
        segment: segment.to_owned(),
        host: (host != "*").then(|| host.to_owned()),
    }
}

fn segment_label<'a>(lang: Lang, scenario: &'a Scenario, segment: &'a str) -> &'a str {
    let label = scenario
        .segments
        .iter()
        .find(|candidate| candidate.name == segment)
        .and_then(|candidate| candidate.label.as_deref());
    match (lang, label) {
        (Lang::Ja, Some(label)) => label,
        _ => segment,
    }
}

fn endpoint_text(lang: Lang, scenario: &Scenario, plan: &TeamPlan, endpoint: &Endpoint) -> String {
    let label = segment_label(lang, scenario, &endpoint.segment);
    let in_range = plan
        .networks
        .iter()
        .any(|network| network.segment == endpoint.segment && network.team_range);
    match &endpoint.host {
        Some(host) if in_range => format!("{label} {host}"),
        _ if lang == Lang::Ja => format!("{label}（{}）", lang.t(Msg::MapEveryHost)),
        _ => format!("{label} ({})", lang.t(Msg::MapEveryHost)),
    }
}

/// The flows in words: `庁内LAN（全ホスト） → 公開セグメント www: tcp/80`.
fn flow_sentences(lang: Lang, scenario: &Scenario, plan: &TeamPlan) -> Vec<String> {
    scenario
        .flows
        .iter()
        .map(|flow| {
            let side = |references: &[String]| {
                references
                    .iter()
                    .map(|reference| endpoint_text(lang, scenario, plan, &endpoint(reference)))
                    .collect::<Vec<_>>()
                    .join("、")
            };
            let ports: Vec<String> = flow
                .ports
                .as_slice()
                .iter()
                .map(|port| {
                    let text = port.to_string();
                    if text == "any" {
                        lang.t(Msg::MapAnyPort).to_owned()
                    } else {
                        text
                    }
                })
                .collect();
            let arrow = if flow.bidirectional { "⇄" } else { "→" };
            let mut sentence = format!(
                "{} {arrow} {}: {}",
                side(flow.from.as_slice()),
                side(flow.to.as_slice()),
                ports.join(", ")
            );
            if lang == Lang::En
                && let Some(note) = &flow.note
            {
                let _ = write!(sentence, " ({note})");
            }
            sentence
        })
        .collect()
}

/// The segments drawn: the team's range first (plan order), then the
/// others the flows reach (the internet), without their hosts.
fn drawn_networks(plan: &TeamPlan) -> Vec<&NetworkSpec> {
    let mut networks: Vec<&NetworkSpec> = plan
        .networks
        .iter()
        .filter(|network| network.team_range)
        .collect();
    networks.extend(plan.networks.iter().filter(|network| !network.team_range));
    networks
}

/// The drawing and its text alternative, as HTML for the portal's card.
pub(crate) fn network_map(lang: Lang, scenario: &Scenario, plan: &TeamPlan) -> String {
    let networks = drawn_networks(plan);
    let flows = flow_sentences(lang, scenario, plan);
    let flow_margin = FLOW_LANE * scenario.flows.len() as u64 + 8;
    let band_right = WIDTH
        .saturating_sub(flow_margin)
        .max(BAND_LEFT + HOST_WIDTH + 8);
    let per_row = ((band_right - BAND_LEFT - 8) / (HOST_WIDTH + 6)).max(1);
    // Segment bands, top to bottom, under the router.
    let mut bands: Vec<(u64, u64)> = Vec::new();
    let mut y = 56;
    for network in &networks {
        let hosts = if network.team_range {
            plan.team_range_containers()
                .filter(|container| {
                    container.reference.contains('/')
                        && container
                            .networks
                            .first()
                            .is_some_and(|attachment| attachment.network == network.name)
                })
                .count() as u64
        } else {
            0
        };
        let rows = hosts.div_ceil(per_row);
        let height = 40 + rows * (HOST_HEIGHT + 6);
        bands.push((y, height));
        y += height + 12;
    }
    let height = y + 4;
    let title = lang.t(Msg::MapTitle);
    let mut svg = format!(
        r#"<svg class="network-map" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg"><title id="map-title">{title}</title><desc id="map-desc">{desc}</desc>"#,
        desc = escape(
            &lang
                .t(Msg::MapSummary)
                .replace("{n}", &networks.len().to_string())
                .replace("{f}", &flows.len().to_string())
        ),
    );
    // The router, and the trunk from it to every segment.
    let _ = write!(
        svg,
        r#"<rect class="map-router" x="{TRUNK_X}" y="8" width="{w}" height="32" rx="6"/><text class="map-router-label" x="{}" y="29">{}</text>"#,
        TRUNK_X + 10,
        escape(lang.t(Msg::MapRouter)),
        w = band_right - TRUNK_X,
    );
    if let Some((last_top, last_height)) = bands.last() {
        let _ = write!(
            svg,
            r#"<line class="map-link" x1="{TRUNK_X}" x2="{TRUNK_X}" y1="40" y2="{}"/>"#,
            last_top + last_height / 2
        );
    }
    for (network, (top, band_height)) in networks.iter().zip(&bands) {
        let middle = top + band_height / 2;
        let _ = write!(
            svg,
            r#"<line class="map-link" x1="{TRUNK_X}" x2="{BAND_LEFT}" y1="{middle}" y2="{middle}"/><rect class="map-segment{}" x="{BAND_LEFT}" y="{top}" width="{}" height="{band_height}" rx="6"/><text class="map-segment-label" x="{}" y="{}">{}</text><text class="map-subnet" x="{}" y="{}">{} · {} {}</text>"#,
            if network.team_range { "" } else { " outside" },
            band_right - BAND_LEFT,
            BAND_LEFT + 8,
            top + 16,
            escape(segment_label(lang, scenario, &network.segment)),
            BAND_LEFT + 8,
            top + 31,
            network.subnet,
            escape(lang.t(Msg::MapRouterAt)),
            network.router,
        );
        if !network.team_range {
            continue;
        }
        let hosts = plan.team_range_containers().filter(|container| {
            container.reference.contains('/')
                && container
                    .networks
                    .first()
                    .is_some_and(|attachment| attachment.network == network.name)
        });
        for (position, host) in hosts.enumerate() {
            let position = position as u64;
            let x = BAND_LEFT + 8 + (position % per_row) * (HOST_WIDTH + 6);
            let host_top = top + 38 + (position / per_row) * (HOST_HEIGHT + 6);
            let address = host
                .networks
                .first()
                .map(|attachment| attachment.address.to_string())
                .unwrap_or_default();
            let _ = write!(
                svg,
                r#"<g class="map-host"><rect x="{x}" y="{host_top}" width="{HOST_WIDTH}" height="{HOST_HEIGHT}" rx="4"/><text x="{}" y="{}">{}</text><text class="map-address" x="{}" y="{}">{address}</text></g>"#,
                x + 6,
                host_top + 14,
                escape(&host.hostname),
                x + 6,
                host_top + 28,
            );
        }
    }
    // Flows: a numbered arrow in the right margin from the source's
    // segment to the destination's.
    let band_middle = |segment: &str| {
        networks
            .iter()
            .position(|network| network.segment == segment)
            .map(|index| bands[index].0 + bands[index].1 / 2)
    };
    for (number, flow) in scenario.flows.iter().enumerate() {
        let from = flow
            .from
            .as_slice()
            .first()
            .and_then(|reference| band_middle(&endpoint(reference).segment));
        let to = flow
            .to
            .as_slice()
            .first()
            .and_then(|reference| band_middle(&endpoint(reference).segment));
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let x = band_right + 8 + number as u64 * FLOW_LANE;
        let (from, to) = if from == to {
            (from - 8, to + 8)
        } else {
            (from, to)
        };
        let _ = write!(
            svg,
            r#"<g class="map-flow"><title>{number_label} {sentence}</title><line x1="{band_right}" x2="{x}" y1="{from}" y2="{from}"/><line x1="{x}" x2="{x}" y1="{from}" y2="{to}"/><line x1="{x}" x2="{band_right}" y1="{to}" y2="{to}"/><path class="map-arrow" d="M{band_right} {to} l6 -4 l0 8 z"/><text class="map-flow-number" x="{}" y="{}">{number_label}</text></g>"#,
            x - 3,
            from.min(to) - 3,
            number_label = number + 1,
            sentence = escape(&flows[number]),
        );
    }
    svg.push_str("</svg>");
    let mut html = format!(
        r#"<figure class="network-figure">{svg}<figcaption class="how">{}</figcaption></figure><ol class="flows">"#,
        lang.t(Msg::MapCaption)
    );
    for sentence in &flows {
        let _ = write!(html, "<li>{}</li>", escape(sentence));
    }
    html.push_str("</ol>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quickstart() -> (Scenario, TeamPlan) {
        let text = include_str!("../../../scenarios/quickstart.yaml");
        let loaded = enshu_scenario::load("quickstart.yaml", text.as_bytes()).unwrap();
        let plan = enshu_scenario::plan(
            &loaded,
            &enshu_scenario::PlanOptions {
                session: "unit".to_owned(),
                teams: 1,
                pool: None,
                files: &enshu_scenario::NoFiles,
            },
        )
        .unwrap();
        (loaded.scenario, plan.teams[0].clone())
    }

    #[test]
    fn the_map_draws_the_teams_hosts_and_lists_every_flow_in_words() {
        let (scenario, plan) = quickstart();
        let html = network_map(Lang::Ja, &scenario, &plan);
        for expected in [
            "庁内LAN",
            "公開セグメント",
            "pc01",
            "analyst",
            "www",
            "ルータ",
        ] {
            assert!(html.contains(expected), "{expected} not on the map");
        }
        assert_eq!(
            html.matches(r#"<g class="map-flow">"#).count(),
            scenario.flows.len()
        );
        assert!(
            html.contains("<li>庁内LAN（全ホスト） → 公開セグメント www: tcp/80</li>"),
            "{html}"
        );
        assert!(html.contains("<li>庁内LAN analyst → 公開セグメント（全ホスト）: すべて</li>"));
        // The internet's hosts are not the team's: the C2 server is an answer.
        assert!(!html.contains("c2"), "the C2 server is named on the map");
        let english = network_map(Lang::En, &scenario, &plan);
        assert!(english.contains("tcp/8080 (web egress (the C2 beacon too))"));
        assert!(
            english.contains("office (every host) → dmz www: tcp/80"),
            "{english}"
        );
    }
}
