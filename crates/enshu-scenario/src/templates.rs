//! Built-in network templates: the three-layer municipal model (α, β, β').
//!
//! Templates are YAML layers in the same format as a scenario's network part,
//! compiled into the binary so that `extends: municipal-beta` works anywhere.

/// Names a scenario can `extends`.
pub const NAMES: [&str; 3] = ["municipal-alpha", "municipal-beta", "municipal-beta-prime"];

/// The YAML text of a built-in template.
pub fn text(name: &str) -> Option<&'static str> {
    match name {
        "municipal-alpha" => Some(include_str!("../templates/municipal-alpha.yaml")),
        "municipal-beta" => Some(include_str!("../templates/municipal-beta.yaml")),
        "municipal-beta-prime" => Some(include_str!("../templates/municipal-beta-prime.yaml")),
        _ => None,
    }
}
