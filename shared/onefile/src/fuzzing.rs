//! Every way the client reads a reply body, in one call: the entry point of the fuzz target
//! (`fuzz/`) and of the never-panics property test. Not used by the client itself.

use crate::records::{
    Centre, Classroom, Customer, FromWire, LearningAim, Placement, Review, Standard, User, Visit,
};
use crate::wire;

/// Parses `body` as every record, list and id the client reads, and puts the review times it
/// reads through the conversions the planner makes (London wall-clock time, whole seconds,
/// R16's +60 minutes). Returns how many readings succeeded; never panics, whatever the bytes.
pub fn parse_every_way(body: &[u8]) -> usize {
    let mut ok = 0;
    let e = "fuzz";
    ok += usize::from(wire::parse_new_id(e, body).is_ok());
    if let Ok(list) = wire::parse_list(e, body) {
        ok += 1;
        for m in &list {
            ok += usize::from(User::from_map(e, m).is_ok());
            ok += usize::from(LearningAim::from_map(e, m).is_ok());
            ok += Review::from_map(e, m).map_or(0, |r| convert(&r));
            ok += usize::from(Standard::from_map(e, m).is_ok());
            ok += usize::from(Placement::from_map(e, m).is_ok());
            ok += usize::from(Classroom::from_map(e, m).is_ok());
            ok += usize::from(Centre::from_map(e, m).is_ok());
            ok += usize::from(Visit::from_map(e, m).is_ok());
        }
    }
    if let Ok(Some(m)) = wire::parse_object(e, body) {
        ok += usize::from(User::from_map(e, &m).is_ok());
        ok += usize::from(Customer::from_map(e, &m).is_ok());
        ok += usize::from(LearningAim::from_map(e, &m).is_ok());
        ok += Review::from_map(e, &m).map_or(0, |r| convert(&r));
    }
    ok
}

/// The planner's conversions of a review's times (R16, R22): 1 for a review read.
fn convert(r: &Review) -> usize {
    use picsync_domain::time::{utc_to_london, whole_seconds};
    for t in [r.scheduled_for, r.started_on].into_iter().flatten() {
        let local = utc_to_london(whole_seconds(t));
        let _ = picsync_domain::plan::review_times(local);
    }
    1
}
