//! The simulator's in-memory OneFile: every record kind picsync touches, in `BTreeMap`s keyed
//! by id, with ids allocated sequentially from one counter (so an id of one kind never
//! matches a record of another kind by accident).
//!
//! Tests read it with `OneFileSim::state()` (a clone) or `read()`, and change it "as a user
//! would" with `OneFileSim::edit()`, which bumps `LastModified` of what the edit touched.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use picsync_domain::Demographics;

/// OneFile role codes.
pub mod role {
    /// Learner.
    pub const LEARNER: i64 = 1;
    /// Trainee assessor.
    pub const TRAINEE_ASSESSOR: i64 = 4;
    /// Assessor / tutor.
    pub const ASSESSOR: i64 = 5;
    /// Internal quality assurer.
    pub const IQA: i64 = 10;
    /// Employer.
    pub const EMPLOYER: i64 = 40;
    /// Observer.
    pub const OBSERVER: i64 = 45;
    /// Every known role.
    pub const ALL: [i64; 6] = [LEARNER, TRAINEE_ASSESSOR, ASSESSOR, IQA, EMPLOYER, OBSERVER];
}

/// The customer the token belongs to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimCustomer {
    /// Customer id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A centre (organisation).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimCentre {
    /// Organisation id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A user of any role.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimUser {
    /// User id (0 = allocate on insert).
    pub id: i64,
    /// Centre.
    pub organisation_id: i64,
    /// Role code ([`role`]).
    pub role: i64,
    /// The demographic fields (names and email for every role), under the OneFile names of the
    /// domain's field table.
    pub demographics: Demographics,
    /// MIS value (duplicates allowed, as in OneFile).
    pub mis_id: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Default assessor.
    pub default_assessor_id: Option<i64>,
    /// Default employer.
    pub default_employer_id: Option<i64>,
    /// Classroom.
    pub classroom_id: Option<i64>,
    /// Placement.
    pub placement_id: Option<i64>,
    /// Learner status.
    pub learner_status_id: Option<i64>,
    /// Work address.
    pub work_address: Option<String>,
    /// Home address.
    pub home_address: Option<String>,
    /// Archived users are still returned by User/Search.
    pub archived: bool,
    /// Last change (set on insert when left at the epoch).
    pub last_modified: DateTime<Utc>,
    /// Progress percentage.
    pub progress: Option<f64>,
}

impl SimUser {
    /// A learner of a centre with a MIS value.
    pub fn learner(organisation_id: i64, first: &str, last: &str, mis_id: &str) -> Self {
        Self {
            organisation_id,
            role: role::LEARNER,
            demographics: named(first, last, "learners.example"),
            mis_id: Some(mis_id.to_string()),
            ..Self::default()
        }
    }

    /// An assessor of a centre.
    pub fn assessor(organisation_id: i64, first: &str, last: &str) -> Self {
        Self {
            organisation_id,
            role: role::ASSESSOR,
            demographics: named(first, last, "staff.example"),
            ..Self::default()
        }
    }

    /// First name (`""` when blank).
    pub fn first_name(&self) -> &str {
        self.demographics.first_name.as_deref().unwrap_or_default()
    }

    /// Last name (`""` when blank).
    pub fn last_name(&self) -> &str {
        self.demographics.surname.as_deref().unwrap_or_default()
    }

    /// Email (`""` when blank).
    pub fn email(&self) -> &str {
        self.demographics.email.as_deref().unwrap_or_default()
    }
}

/// Names and an email `first.last@domain`.
fn named(first: &str, last: &str, domain: &str) -> Demographics {
    Demographics {
        first_name: Some(first.to_string()),
        surname: Some(last.to_string()),
        email: Some(format!("{first}.{last}@{domain}").to_lowercase()),
        ..Demographics::default()
    }
}

/// A classroom.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimClassroom {
    /// Id (0 = allocate).
    pub id: i64,
    /// Centre.
    pub organisation_id: i64,
    /// Name.
    pub name: String,
    /// MIS value.
    pub mis_id: Option<String>,
}

/// A placement (employer).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimPlacement {
    /// Id (0 = allocate).
    pub id: i64,
    /// Centre.
    pub organisation_id: i64,
    /// Name.
    pub name: String,
    /// MIS value.
    pub mis_id: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Active.
    pub active: bool,
}

/// A pathway of a standard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimPathway {
    /// Id (0 = allocate).
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A standard (learning aim) available to one centre.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimStandard {
    /// Id (0 = allocate).
    pub id: i64,
    /// The centre it is available to (the same code in two centres is two standards).
    pub organisation_id: i64,
    /// Code (the PICS VQ Reference).
    pub code: String,
    /// Title.
    pub title: String,
    /// Pathways.
    pub pathways: Vec<SimPathway>,
    /// Elements of a learning aim on this standard, when known.
    pub total_elements: Option<i64>,
}

/// A learning aim (a standard assigned to a learner).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimLearningAim {
    /// Id (0 = allocate).
    pub id: i64,
    /// The learner.
    pub user_id: i64,
    /// The standard.
    pub standard_id: i64,
    /// The pathway chosen on assignment.
    pub pathway_id: Option<i64>,
    /// Start date.
    pub start_date: Option<NaiveDate>,
    /// Planned end.
    pub planned_end: Option<NaiveDate>,
    /// Status code.
    pub status: Option<i64>,
    /// Registration number.
    pub registration_number: Option<String>,
    /// Registration date.
    pub registration_date: Option<NaiveDate>,
    /// Certificate applied for.
    pub certificate_applied_date: Option<NaiveDate>,
    /// Certificate received.
    pub certificate_received_date: Option<NaiveDate>,
    /// Achieved.
    pub achieved_date: Option<NaiveDate>,
    /// Total elements.
    pub total_elements: Option<i64>,
    /// Elements done.
    pub elements_done: Option<i64>,
    /// Progress percentage.
    pub progress: Option<f64>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
}

/// A visit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimVisit {
    /// Id (0 = allocate).
    pub id: i64,
    /// The learner.
    pub learner_id: i64,
    /// Centre.
    pub organisation_id: Option<i64>,
    /// Start.
    pub date_from: Option<DateTime<Utc>>,
    /// End.
    pub date_to: Option<DateTime<Utc>>,
    /// Visit type.
    pub visit_type_id: Option<i64>,
    /// SMS reminder.
    pub sms_reminder: bool,
    /// Assessor.
    pub assessor_id: Option<i64>,
}

/// A review.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimReview {
    /// Id (0 = allocate).
    pub id: i64,
    /// The learner.
    pub learner_id: i64,
    /// The assessor.
    pub assessor_id: Option<i64>,
    /// The visit.
    pub visit_id: Option<i64>,
    /// Status code.
    pub status: i64,
    /// Created.
    pub created_on: Option<DateTime<Utc>>,
    /// Scheduled for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Started ("review started").
    pub started_on: Option<DateTime<Utc>>,
    /// Signed by the assessor.
    pub assessor_signed_on: Option<DateTime<Utc>>,
    /// Signed by the learner.
    pub learner_signed_on: Option<DateTime<Utc>>,
    /// Signed by the employer.
    pub employer_signed_on: Option<DateTime<Utc>>,
    /// Progress percentage.
    pub progress: Option<f64>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
}

/// An assessor or employer assigned to a learner (`POST /User/{id}/Assign`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimAssignment {
    /// The assessor or employer.
    pub user_id: i64,
    /// The learner.
    pub learner_id: i64,
    /// Level.
    pub level: i64,
    /// Standard, when the assignment is limited to one.
    pub standard_id: Option<i64>,
}

/// The whole simulated OneFile.
#[derive(Debug, Clone)]
pub struct Store {
    /// The customer.
    pub customer: SimCustomer,
    /// Centres.
    pub centres: BTreeMap<i64, SimCentre>,
    /// Users of every role, archived ones included.
    pub users: BTreeMap<i64, SimUser>,
    /// Classrooms.
    pub classrooms: BTreeMap<i64, SimClassroom>,
    /// Placements.
    pub placements: BTreeMap<i64, SimPlacement>,
    /// Standards.
    pub standards: BTreeMap<i64, SimStandard>,
    /// Learning aims.
    pub learning_aims: BTreeMap<i64, SimLearningAim>,
    /// Visits.
    pub visits: BTreeMap<i64, SimVisit>,
    /// Reviews.
    pub reviews: BTreeMap<i64, SimReview>,
    /// Assignments of assessors and employers to learners.
    pub assignments: BTreeSet<SimAssignment>,
    /// Raw JSON fields served over a record's own, by record id (ids are unique across
    /// kinds): values real OneFile might send that the typed store cannot hold, such as a bad
    /// date or a number as text.
    pub overrides: BTreeMap<i64, serde_json::Map<String, serde_json::Value>>,
    /// The next id to allocate.
    pub next_id: i64,
    last_stamp: DateTime<Utc>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            customer: SimCustomer {
                id: 1,
                name: "Simulated Training Ltd".to_string(),
            },
            centres: BTreeMap::new(),
            users: BTreeMap::new(),
            classrooms: BTreeMap::new(),
            placements: BTreeMap::new(),
            standards: BTreeMap::new(),
            learning_aims: BTreeMap::new(),
            visits: BTreeMap::new(),
            reviews: BTreeMap::new(),
            assignments: BTreeSet::new(),
            overrides: BTreeMap::new(),
            next_id: 1000,
            last_stamp: DateTime::<Utc>::MIN_UTC,
        }
    }
}

/// True for a timestamp left at its default (the Unix epoch): set it on insert.
fn unset(t: &DateTime<Utc>) -> bool {
    *t == DateTime::<Utc>::default()
}

impl Store {
    /// An id: `requested` when positive (the counter moves past it), else the next one.
    pub fn alloc_id(&mut self, requested: i64) -> i64 {
        if requested > 0 {
            self.next_id = self.next_id.max(requested + 1);
            requested
        } else {
            let id = self.next_id;
            self.next_id += 1;
            id
        }
    }

    /// A fresh `LastModified`: now, to the millisecond, and always later than the last one
    /// given, so "changed since" filters are exact.
    pub fn stamp(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = now
            .with_nanosecond(now.timestamp_subsec_millis() * 1_000_000)
            .unwrap_or(now);
        let t = if now > self.last_stamp {
            now
        } else {
            self.last_stamp + Duration::milliseconds(1)
        };
        self.last_stamp = t;
        t
    }

    /// Adds a centre; returns its id.
    pub fn add_centre(&mut self, name: &str) -> i64 {
        self.insert_centre(SimCentre {
            id: 0,
            name: name.to_string(),
        })
    }

    /// Inserts a centre (id 0 = allocate); returns its id.
    pub fn insert_centre(&mut self, mut c: SimCentre) -> i64 {
        c.id = self.alloc_id(c.id);
        let id = c.id;
        self.centres.insert(id, c);
        id
    }

    /// Inserts a user (id 0 = allocate; `LastModified` set when unset); returns its id.
    pub fn insert_user(&mut self, mut u: SimUser) -> i64 {
        u.id = self.alloc_id(u.id);
        if unset(&u.last_modified) {
            u.last_modified = self.stamp();
        }
        let id = u.id;
        self.users.insert(id, u);
        id
    }

    /// Inserts a classroom; returns its id.
    pub fn insert_classroom(&mut self, mut c: SimClassroom) -> i64 {
        c.id = self.alloc_id(c.id);
        let id = c.id;
        self.classrooms.insert(id, c);
        id
    }

    /// Inserts a placement; returns its id.
    pub fn insert_placement(&mut self, mut p: SimPlacement) -> i64 {
        p.id = self.alloc_id(p.id);
        let id = p.id;
        self.placements.insert(id, p);
        id
    }

    /// Inserts a standard (pathways with id 0 get ids too); returns its id.
    pub fn insert_standard(&mut self, mut s: SimStandard) -> i64 {
        s.id = self.alloc_id(s.id);
        for p in &mut s.pathways {
            p.id = self.alloc_id(p.id);
        }
        let id = s.id;
        self.standards.insert(id, s);
        id
    }

    /// Inserts a learning aim; returns its id.
    pub fn insert_learning_aim(&mut self, mut a: SimLearningAim) -> i64 {
        a.id = self.alloc_id(a.id);
        if unset(&a.last_modified) {
            a.last_modified = self.stamp();
        }
        let id = a.id;
        self.learning_aims.insert(id, a);
        id
    }

    /// Inserts a visit; returns its id.
    pub fn insert_visit(&mut self, mut v: SimVisit) -> i64 {
        v.id = self.alloc_id(v.id);
        let id = v.id;
        self.visits.insert(id, v);
        id
    }

    /// Inserts a review; returns its id.
    pub fn insert_review(&mut self, mut r: SimReview) -> i64 {
        r.id = self.alloc_id(r.id);
        if unset(&r.last_modified) {
            r.last_modified = self.stamp();
        }
        if r.created_on.is_none() {
            r.created_on = Some(r.last_modified);
        }
        let id = r.id;
        self.reviews.insert(id, r);
        id
    }

    /// Serves `key: value` in every rendering of record `id`, over its own field.
    pub fn override_field(&mut self, id: i64, key: &str, value: serde_json::Value) {
        self.overrides
            .entry(id)
            .or_default()
            .insert(key.to_string(), value);
    }

    /// Bumps a user's `LastModified`.
    pub fn touch_user(&mut self, id: i64) {
        let t = self.stamp();
        if let Some(u) = self.users.get_mut(&id) {
            u.last_modified = t;
        }
    }

    /// Bumps a learning aim's `LastModified`, and its learner's with `touch_learner`.
    pub fn touch_learning_aim(&mut self, id: i64, touch_learner: bool) {
        let t = self.stamp();
        let learner = self.learning_aims.get_mut(&id).map(|a| {
            a.last_modified = t;
            a.user_id
        });
        if let (Some(l), true) = (learner, touch_learner) {
            self.touch_user(l);
        }
    }

    /// Bumps a review's `LastModified`, and its learner's with `touch_learner`.
    pub fn touch_review(&mut self, id: i64, touch_learner: bool) {
        let t = self.stamp();
        let learner = self.reviews.get_mut(&id).map(|r| {
            r.last_modified = t;
            r.learner_id
        });
        if let (Some(l), true) = (learner, touch_learner) {
            self.touch_user(l);
        }
    }

    /// Users of a role with a MIS value (case-insensitive, archived included): R12 checks.
    pub fn users_with_mis_id(&self, mis_id: &str) -> Vec<&SimUser> {
        self.users
            .values()
            .filter(|u| {
                u.mis_id
                    .as_deref()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case(mis_id.trim()))
            })
            .collect()
    }

    /// Learning aims of a learner, by id.
    pub fn learning_aims_of(&self, user_id: i64) -> Vec<&SimLearningAim> {
        self.learning_aims
            .values()
            .filter(|a| a.user_id == user_id)
            .collect()
    }

    /// Reviews of a learner, by id.
    pub fn reviews_of(&self, learner_id: i64) -> Vec<&SimReview> {
        self.reviews
            .values()
            .filter(|r| r.learner_id == learner_id)
            .collect()
    }
}

/// Changes made through `OneFileSim::edit`, "as a user would": every record reached through
/// [`Editor::user`], [`Editor::learning_aim`] or [`Editor::review`] (or added) gets a new
/// `LastModified` when the edit ends; [`Editor::raw`] changes records silently.
pub struct Editor<'a> {
    store: &'a mut Store,
    users: BTreeSet<i64>,
    aims: BTreeSet<i64>,
    reviews: BTreeSet<i64>,
}

impl<'a> Editor<'a> {
    pub(crate) fn new(store: &'a mut Store) -> Self {
        Self {
            store,
            users: BTreeSet::new(),
            aims: BTreeSet::new(),
            reviews: BTreeSet::new(),
        }
    }

    /// The store, read-only.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// The store, changed without bumping anything.
    pub fn raw(&mut self) -> &mut Store {
        self.store
    }

    /// A user to change.
    pub fn user(&mut self, id: i64) -> Option<&mut SimUser> {
        self.users.insert(id);
        self.store.users.get_mut(&id)
    }

    /// A learning aim to change.
    pub fn learning_aim(&mut self, id: i64) -> Option<&mut SimLearningAim> {
        self.aims.insert(id);
        self.store.learning_aims.get_mut(&id)
    }

    /// A review to change.
    pub fn review(&mut self, id: i64) -> Option<&mut SimReview> {
        self.reviews.insert(id);
        self.store.reviews.get_mut(&id)
    }

    /// Archives a user (archived users stay visible to User/Search); false when unknown.
    pub fn archive_user(&mut self, id: i64) -> bool {
        self.user(id).map(|u| u.archived = true).is_some()
    }

    /// Adds a user.
    pub fn add_user(&mut self, u: SimUser) -> i64 {
        let id = self.store.insert_user(u);
        self.users.insert(id);
        id
    }

    /// Adds a learning aim.
    pub fn add_learning_aim(&mut self, a: SimLearningAim) -> i64 {
        let id = self.store.insert_learning_aim(a);
        self.aims.insert(id);
        id
    }

    /// Adds a review.
    pub fn add_review(&mut self, r: SimReview) -> i64 {
        let id = self.store.insert_review(r);
        self.reviews.insert(id);
        id
    }

    /// Bumps `LastModified` of everything touched.
    pub(crate) fn finish(self, child_changes_touch_learner: bool) {
        for id in self.users {
            self.store.touch_user(id);
        }
        for id in self.aims {
            self.store
                .touch_learning_aim(id, child_changes_touch_learner);
        }
        for id in self.reviews {
            self.store.touch_review(id, child_changes_touch_learner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sequential_and_explicit_ids_move_the_counter() {
        let mut s = Store::default();
        let a = s.add_centre("A");
        let b = s.add_centre("B");
        assert_eq!(b, a + 1);
        let c = s.insert_centre(SimCentre {
            id: 5000,
            name: "C".into(),
        });
        assert_eq!(c, 5000);
        assert_eq!(s.add_centre("D"), 5001);
    }

    #[test]
    fn stamps_strictly_increase_at_millisecond_precision() {
        let mut s = Store::default();
        let mut last = s.stamp();
        for _ in 0..1000 {
            let t = s.stamp();
            assert!(t > last);
            assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
            last = t;
        }
    }

    #[test]
    fn editor_bumps_what_it_touched_and_children_touch_learners_only_with_the_quirk() {
        let mut s = Store::default();
        let org = s.add_centre("A");
        let l = s.insert_user(SimUser::learner(org, "Ann", "Lee", "L1"));
        let a = s.insert_learning_aim(SimLearningAim {
            user_id: l,
            ..Default::default()
        });
        let before = s.users[&l].last_modified;
        let mut e = Editor::new(&mut s);
        e.learning_aim(a).unwrap().registration_number = Some("R1".into());
        e.finish(false);
        assert_eq!(s.users[&l].last_modified, before);
        assert!(s.learning_aims[&a].last_modified > before);
        let mut e = Editor::new(&mut s);
        e.learning_aim(a).unwrap().elements_done = Some(3);
        e.finish(true);
        assert!(s.users[&l].last_modified > before);
    }
}
