//! Hostile scenario files are refused with one bounded error, never a panic
//! or runaway memory.

fn first_error(bytes: &[u8]) -> String {
    match enshu_scenario::load("hostile.yaml", bytes) {
        Ok(_) => panic!("hostile input was accepted"),
        Err(diagnostics) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
            diagnostics[0].headline()
        }
    }
}

#[test]
fn an_alias_expansion_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = level - 1;
        text.push_str(&format!("a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"));
    }
    let headline = first_error(text.as_bytes());
    assert!(headline.starts_with("hostile.yaml:"), "{headline}");
    assert!(
        headline.to_lowercase().contains("alias") || headline.contains("budget"),
        "{headline}"
    );
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!("version: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let headline = first_error(text.as_bytes());
    assert!(
        headline.contains("recursion limit") || headline.contains("depth"),
        "{headline}"
    );
}

#[test]
fn a_huge_file_is_refused_before_parsing() {
    let text = "# padding\n".repeat(200_000);
    let headline = first_error(text.as_bytes());
    assert!(headline.contains("limited to 1048576 bytes"), "{headline}");
}

#[test]
fn invalid_utf8_is_refused_with_its_position() {
    let mut bytes = b"version: 1\nid: caf".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\n");
    let headline = first_error(&bytes);
    assert_eq!(
        headline,
        "hostile.yaml:2:8: file is not valid UTF-8 (byte offset 18)"
    );
}

#[test]
fn tabs_in_indentation_are_refused_plainly() {
    let headline = first_error(b"version: 1\nhosts:\n\t- name: x\n");
    assert_eq!(
        headline,
        "hostile.yaml:3:1: tab character in indentation; YAML indents with spaces only"
    );
}

#[test]
fn several_documents_are_refused() {
    let headline = first_error(b"version: 1\n---\nversion: 1\n");
    assert!(headline.starts_with("hostile.yaml:"), "{headline}");
}
