//! The network sensor as planned and validated: the municipal templates
//! and the quickstart give the analyst workstation one capture interface
//! per segment of the team's range (never the internet's), each team its
//! own taps; a sensor on any other host, or on a segment that is unknown,
//! outside the team's range or too long a name, is refused where it is
//! written.

use std::path::Path;

use enshu_scenario::NoFiles;
use enshu_scenario::plan::{Plan, PlanOptions};
use enshu_scenario::validate::Context;

fn plan_reference(name: &str, teams: u32) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let loaded = enshu_scenario::load(name, &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "sn".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn errors(text: &str) -> Vec<String> {
    let loaded = enshu_scenario::load("sensor.yaml", text.as_bytes()).expect("loads");
    enshu_scenario::validate(&loaded, &Context::default())
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .map(|diagnostic| format!("{} [{}]", diagnostic.headline(), diagnostic.path))
        .collect()
}

const OFFICE: &str = "version: 1
id: sensor-test
title: {en: Sensor}
level: A
duration: 10m
segments:
  - {name: office, role: office, subnet: 0.0.10.0/24}
  - {name: a-very-long-segment, role: office, subnet: 0.0.20.0/24}
  - {name: internet, role: internet, subnet: 0.0.100.0/24}
hosts:
  - {name: analyst, segment: office, address: 10, image: analyst, services: [tcp/22], login: true}
  - {name: pc01, segment: office, address: 101, image: workstation}
  - {name: c2, segment: internet, address: 23, image: internet}
";

#[test]
fn every_segment_of_the_municipal_range_is_mirrored_to_the_analyst_per_team() {
    let plan = plan_reference("emotet-beta.yaml", 2);
    let mut host_ends = Vec::new();
    for team in &plan.teams {
        let sensor = team
            .sensor
            .as_ref()
            .expect("the template declares a sensor");
        assert_eq!(sensor.reference, "lgwan/analyst");
        assert_eq!(sensor.container, format!("enshu-sn-{}-analyst", team.name));
        let interfaces: Vec<&str> = sensor
            .taps
            .iter()
            .map(|tap| tap.interface.as_str())
            .collect();
        assert_eq!(
            interfaces,
            [
                "cap-mynumber",
                "cap-lgwan",
                "cap-xfer",
                "cap-inet",
                "cap-maint",
                "cap-seccloud",
                "cap-lgwan-wan"
            ],
            "the internet and the vendor's segment are not the team's"
        );
        for tap in &sensor.taps {
            let network = team
                .networks
                .iter()
                .find(|network| network.segment == tap.segment)
                .unwrap();
            assert_eq!(tap.bridge, network.bridge);
            assert_eq!(tap.host_end, format!("eshc{}", &network.bridge[3..]));
            assert!(tap.host_end.len() <= 15 && tap.interface.len() <= 15);
            assert_eq!(
                tap.alias,
                format!("enshu-sensor sn {} {}", team.name, tap.segment)
            );
            host_ends.push((tap.host_end.clone(), tap.block));
        }
    }
    let count = host_ends.len();
    host_ends.sort();
    host_ends.dedup_by(|left, right| left.0 == right.0 || left.1 == right.1);
    assert_eq!(host_ends.len(), count, "every tap and block is its own");

    let quickstart = plan_reference("quickstart.yaml", 1);
    let sensor = quickstart.teams[0].sensor.as_ref().unwrap();
    let interfaces: Vec<&str> = sensor
        .taps
        .iter()
        .map(|tap| tap.interface.as_str())
        .collect();
    assert_eq!(interfaces, ["cap-office", "cap-dmz"]);
}

#[test]
fn named_segments_only_are_mirrored() {
    let text = format!("{OFFICE}sensor: {{host: office/analyst, segments: [office]}}\n");
    assert_eq!(errors(&text), Vec::<String>::new());
    let loaded = enshu_scenario::load("sensor.yaml", text.as_bytes()).unwrap();
    let plan = enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "sn".into(),
            teams: 1,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap();
    let taps = &plan.teams[0].sensor.as_ref().unwrap().taps;
    assert_eq!(taps.len(), 1);
    assert_eq!(taps[0].interface, "cap-office");
}

#[test]
fn a_sensor_elsewhere_than_the_teams_analyst_workstation_is_refused_where_written() {
    let text = format!("{OFFICE}sensor: {{host: office/pc01, segments: [office]}}\n");
    assert_eq!(
        errors(&text),
        [
            "sensor.yaml:14:16: office/pc01 is a workstation host; the sensor's copies go to an analyst workstation (image: analyst) (the team's analyst workstation is office/analyst) [sensor.host]"
        ]
    );
    let text = format!("{OFFICE}sensor: {{host: internet/c2, segments: [office]}}\n");
    assert_eq!(
        errors(&text)[0],
        "sensor.yaml:14:16: internet/c2 is a internet host; the sensor's copies go to an analyst workstation (image: analyst) (the team's analyst workstation is office/analyst) [sensor.host]"
    );
    let text = format!("{OFFICE}sensor: {{host: office/nobody, segments: [office]}}\n");
    assert_eq!(errors(&text).len(), 1);
    assert!(
        errors(&text)[0].contains("[sensor.host]"),
        "{:?}",
        errors(&text)
    );
}

#[test]
fn an_unknown_outside_or_too_long_segment_is_refused_where_written() {
    let text = format!(
        "{OFFICE}sensor:\n  host: office/analyst\n  segments: [office, ofice, internet, office, a-very-long-segment]\n"
    );
    assert_eq!(
        errors(&text),
        [
            "sensor.yaml:16:22: unknown segment \"ofice\" (did you mean \"office\"?) [sensor.segments[1]]",
            "sensor.yaml:16:29: segment \"internet\" (role internet) stands for the outside world, not the team's range; the sensor mirrors only the team's own segments [sensor.segments[2]]",
            "sensor.yaml:16:39: segment \"office\" is named twice [sensor.segments[3]]",
            "sensor.yaml:16:47: segment \"a-very-long-segment\" would be mirrored to \"cap-a-very-long-segment\", longer than the 15 characters an interface name may have; rename the segment to at most 11 characters or leave it out of `sensor.segments` [sensor.segments[4]]",
        ]
    );
    // By default every segment of the team's range is mirrored: the long
    // one too, so the block itself is what is wrong.
    let text = format!("{OFFICE}sensor: {{host: office/analyst}}\n");
    assert_eq!(errors(&text).len(), 1);
    assert!(
        errors(&text)[0].starts_with("sensor.yaml:14:9: segment \"a-very-long-segment\""),
        "{:?}",
        errors(&text)
    );
}
