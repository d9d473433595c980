//! The simulator's in-memory store: records keyed by id (BTreeMaps, fast for thousands of
//! learners), with RowVersion and LastModified kept the way PICS keeps them.
//!
//! Every change to a learner or anything under it (qualification, review, officer link,
//! placement) gives the learner a new RowVersion and LastModified (R41): the store remembers
//! each learner as it was before it was first touched in an edit, and [`PicsStore::settle`]
//! stamps those that differ afterwards. A value that did not change stamps nothing.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use picsync_domain::time::utc_to_london;

use super::model::{PicsState, SimLearner, SimOfficer, SimOrganisation};

/// First RowVersion handed out (like SQL Server's rowversion: one counter for the database).
const FIRST_ROW_VERSION: u64 = 0x07D0;

/// The store, as seen by [`PicsSim::edit`](super::PicsSim::edit) and by write hooks.
pub struct PicsStore {
    state: PicsState,
    /// Learners touched since the last settle, as they were before (`None`: did not exist).
    before: BTreeMap<String, Option<SimLearner>>,
    row_clock: u64,
    rng: fastrand::Rng,
}

impl std::fmt::Debug for PicsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PicsStore")
            .field("learners", &self.state.learners.len())
            .field("officers", &self.state.officers.len())
            .field("organisations", &self.state.organisations.len())
            .finish_non_exhaustive()
    }
}

impl PicsStore {
    /// An empty store whose generated ids and tokens follow `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            state: PicsState::default(),
            before: BTreeMap::new(),
            row_clock: FIRST_ROW_VERSION,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Everything held, read-only.
    pub fn state(&self) -> &PicsState {
        &self.state
    }

    /// A learner.
    pub fn learner(&self, id: &str) -> Option<&SimLearner> {
        self.state.learners.get(id)
    }

    /// A learner to change; the change stamps a new RowVersion and LastModified.
    pub fn learner_mut(&mut self, id: &str) -> Option<&mut SimLearner> {
        let current = self.state.learners.get(id)?;
        if !self.before.contains_key(id) {
            self.before.insert(id.to_string(), Some(current.clone()));
        }
        self.state.learners.get_mut(id)
    }

    /// Adds or replaces a learner (stamped like any change; an empty RowVersion and a missing
    /// LastModified of a new learner are filled in).
    pub fn insert_learner(&mut self, learner: SimLearner) {
        let id = learner.learner_id.clone();
        if !self.before.contains_key(&id) {
            let old = self.state.learners.get(&id).cloned();
            self.before.insert(id.clone(), old);
        }
        self.state.learners.insert(id, learner);
    }

    /// Removes a learner.
    pub fn remove_learner(&mut self, id: &str) -> Option<SimLearner> {
        self.before.remove(id);
        self.state.learners.remove(id)
    }

    /// An officer.
    pub fn officer(&self, id: &str) -> Option<&SimOfficer> {
        self.state.officers.get(id)
    }

    /// An officer to change (officers carry no RowVersion).
    pub fn officer_mut(&mut self, id: &str) -> Option<&mut SimOfficer> {
        self.state.officers.get_mut(id)
    }

    /// Adds or replaces an officer.
    pub fn insert_officer(&mut self, officer: SimOfficer) {
        self.state
            .officers
            .insert(officer.officer_id.clone(), officer);
    }

    /// An organisation.
    pub fn organisation(&self, id: &str) -> Option<&SimOrganisation> {
        self.state.organisations.get(id)
    }

    /// An organisation to change (organisations carry no RowVersion).
    pub fn organisation_mut(&mut self, id: &str) -> Option<&mut SimOrganisation> {
        self.state.organisations.get_mut(id)
    }

    /// Adds or replaces an organisation.
    pub fn insert_organisation(&mut self, organisation: SimOrganisation) {
        self.state
            .organisations
            .insert(organisation.organisation_id.clone(), organisation);
    }

    /// A new GUID-like id (deterministic for the simulator's seed).
    pub fn new_id(&mut self) -> String {
        let a = self.rng.u64(..);
        let b = self.rng.u64(..);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            (b >> 48) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// `len` random alphanumeric characters (bearer tokens).
    pub(crate) fn random_text(&mut self, len: usize) -> String {
        (0..len).map(|_| self.rng.alphanumeric()).collect()
    }

    /// The simulator's clock: London wall-clock time, to the millisecond (PICS stores local
    /// time without a zone).
    pub fn now() -> NaiveDateTime {
        utc_to_london(Utc::now()).trunc_subsecs(3)
    }

    fn next_row_version(&mut self) -> String {
        self.row_clock += 1;
        format!("{:016X}", self.row_clock)
    }

    /// Stamps every learner changed since the last settle: a new RowVersion and LastModified,
    /// unless the edit set those itself. Returns how many were stamped.
    pub(crate) fn settle(&mut self) -> usize {
        let touched = std::mem::take(&mut self.before);
        let now = Self::now();
        let mut stamped = 0;
        for (id, before) in touched {
            let Some(current) = self.state.learners.get(&id) else {
                continue;
            };
            let (bump_version, bump_time) = match &before {
                None => (
                    current.row_version.is_empty(),
                    current.last_modified.is_none(),
                ),
                Some(b) if b == current => (false, false),
                Some(b) => (
                    b.row_version == current.row_version,
                    b.last_modified == current.last_modified,
                ),
            };
            if !(bump_version || bump_time) {
                continue;
            }
            let version = bump_version.then(|| self.next_row_version());
            if let Some(l) = self.state.learners.get_mut(&id) {
                if let Some(v) = version {
                    l.row_version = v;
                }
                if bump_time {
                    l.last_modified = Some(now);
                }
                stamped += 1;
            }
        }
        stamped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pics::model::SimReview;

    fn store_with(ids: &[&str]) -> PicsStore {
        let mut s = PicsStore::new(1);
        for id in ids {
            s.insert_learner(SimLearner::new(*id, format!("ID-{id}")));
        }
        s.settle();
        s
    }

    #[test]
    fn seeding_stamps_row_versions_and_times() {
        let s = store_with(&["a", "b"]);
        let a = s.learner("a").unwrap();
        let b = s.learner("b").unwrap();
        assert!(!a.row_version.is_empty() && a.last_modified.is_some());
        assert_ne!(a.row_version, b.row_version);
    }

    #[test]
    fn r41_any_change_under_a_learner_bumps_its_row_version_only() {
        let mut s = store_with(&["a", "b"]);
        let (va, vb) = (
            s.learner("a").unwrap().row_version.clone(),
            s.learner("b").unwrap().row_version.clone(),
        );
        let t = PicsStore::now();
        s.learner_mut("a")
            .unwrap()
            .reviews
            .push(SimReview::normal("r1", t));
        assert_eq!(s.settle(), 1);
        assert_ne!(s.learner("a").unwrap().row_version, va);
        assert_eq!(s.learner("b").unwrap().row_version, vb);
    }

    #[test]
    fn touching_without_changing_stamps_nothing() {
        let mut s = store_with(&["a"]);
        let before = s.learner("a").unwrap().clone();
        let _ = s.learner_mut("a");
        assert_eq!(s.settle(), 0);
        assert_eq!(s.learner("a").unwrap(), &before);
    }

    #[test]
    fn an_edit_that_sets_last_modified_keeps_it() {
        let mut s = store_with(&["a"]);
        let old_version = s.learner("a").unwrap().row_version.clone();
        let t = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        s.learner_mut("a").unwrap().last_modified = Some(t);
        s.settle();
        let a = s.learner("a").unwrap();
        assert_eq!(a.last_modified, Some(t));
        assert_ne!(a.row_version, old_version);
    }

    #[test]
    fn ids_are_guid_like_and_deterministic() {
        let mut a = PicsStore::new(9);
        let mut b = PicsStore::new(9);
        let id = a.new_id();
        assert_eq!(id, b.new_id());
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(a.new_id(), id);
    }
}
