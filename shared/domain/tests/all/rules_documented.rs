//! Every rule id has its entry on the rules page (`picsync_domain::rules`), so that no rule
//! goes undocumented in the repository.

const PAGE: &str = include_str!("../../src/rules.rs");

/// True when `id` (e.g. `R3`) appears on the page as a whole id, not as the start of a longer
/// one (`R3` inside `R30`) nor the end of one.
fn names(page: &str, id: &str) -> bool {
    page.match_indices(id).any(|(at, _)| {
        let before = page[..at].chars().next_back();
        let after = page[at + id.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[test]
fn rules_every_rule_has_an_entry() {
    let missing: Vec<String> = std::iter::once(1)
        .chain(3..=43)
        .map(|n| format!("R{n}"))
        .filter(|id| !names(PAGE, &format!("**{id}**")))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without an entry (`**Rn**`) in shared/domain/src/rules.rs: {missing:?}"
    );
}

#[test]
fn rules_page_has_the_sections_and_no_code() {
    for section in ["§1", "§2", "§3", "§4", "§5", "§6", "§7"] {
        assert!(names(PAGE, section), "section {section} is missing");
    }
    assert!(
        !names(PAGE, "**R2**"),
        "there is no R2: the page must not invent one"
    );
    let code: Vec<&str> = PAGE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//!"))
        .collect();
    assert!(code.is_empty(), "the rules page is docs only: {code:?}");
}

#[test]
fn rules_names_matches_whole_ids_only() {
    assert!(names("- **R30** x", "**R30**"));
    assert!(!names("- **R30** x", "**R3"));
    assert!(names("R3, R30", "R3"));
    assert!(!names("R30", "R3"));
    assert!(!names("XR3", "R3"));
}
