//! What every page is held to in Chromium, for the browser tests that
//! include this file next to `support` and `chromium`: nothing scrolls
//! sideways, and a Japanese page says nothing in English beyond the
//! scenario author's words.
#![allow(dead_code)]

use crate::chromium::DevTools;

/// No sideways scrolling: the document is no wider than the viewport.
pub async fn assert_fits(devtools: &mut DevTools, what: &str) {
    let widths = devtools
        .evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (scroll, viewport) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        scroll <= viewport,
        "{what}: scrolls sideways ({scroll} px wide in a {viewport} px viewport)"
    );
}

/// No English in a Japanese page as Chromium renders it (after app.js
/// drew the clock and the countdowns), beyond the scenario author's words.
pub async fn assert_no_english(devtools: &mut DevTools, what: &str) {
    let allowed = crate::support::author_words();
    let text = devtools.evaluate("document.body.innerText").await;
    let leaks: Vec<String> = crate::support::ascii_words(text.as_str().unwrap_or_default())
        .into_iter()
        .filter(|word| !allowed.contains(word))
        .collect();
    assert!(leaks.is_empty(), "English in {what}: {leaks:?}");
}
