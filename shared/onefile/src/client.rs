//! The OneFile API v2.1 client: one method per call picsync needs (the crate page
//! "Endpoints picsync needs").

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::config::OneFileConfig;
use crate::error::OneFileError;
use crate::fields as f;
use crate::pacer::Pacer;
use crate::paging::PagingCheck;
use crate::records::*;
use crate::transport::{Reply, Safety, Transport};
use crate::wire::{Body, parse_new_id, parse_object};
use picsync_domain::{
    OfAimId, OfCentreId, OfClassroomId, OfCustomerId, OfPathwayId, OfPlacementId, OfReviewId,
    OfStandardId, OfUserId, OfVisitId, OneFileId,
};

/// A OneFile client for one tenant. Cheap to clone: clones share the session, the pacer and
/// what was learnt about page sizes.
#[derive(Clone)]
pub struct OneFileClient {
    t: Arc<Transport>,
    /// What the read-back after the first write of each **Assumed** learning-aim field found:
    /// `true` the value stuck, `false` OneFile ignored it (see [`Self::update_learning_aim`]).
    assumed: Arc<Mutex<HashMap<&'static str, bool>>>,
}

impl std::fmt::Debug for OneFileClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneFileClient")
            .field("pacer", &self.t.pacer)
            .finish_non_exhaustive()
    }
}

impl OneFileClient {
    /// A client with its tenant's pacer (R35: one pacer per tenant, shared by all its clients).
    pub fn new(cfg: OneFileConfig, pacer: Pacer) -> Result<Self, OneFileError> {
        Ok(Self {
            t: Arc::new(Transport::new(cfg, pacer)?),
            assumed: Arc::default(),
        })
    }

    /// The tenant's pacer.
    pub fn pacer(&self) -> &Pacer {
        &self.t.pacer
    }

    /// The longest one call (a create) can take with every retry and wait of the client's
    /// policy: how long a claim to create a record must last (§7).
    pub fn longest_call(&self) -> std::time::Duration {
        self.t.longest_call()
    }

    /// Sessions obtained so far by this client and its clones.
    pub async fn sessions_issued(&self) -> u64 {
        self.t.sessions.issued().await
    }

    async fn get_one<T: FromWire>(&self, path: String) -> Result<T, OneFileError> {
        self.t
            .call(Method::GET, &path, None, Safety::Idempotent, read_record)
            .await
    }

    /// A partial update or an assignment: any 2xx is success, the body is ignored.
    async fn post_update(&self, path: &str, body: &Value) -> Result<(), OneFileError> {
        self.t
            .call(
                Method::POST,
                path,
                Some(body),
                Safety::Idempotent,
                |_, _| Ok(()),
            )
            .await
    }

    async fn create_id<I: OneFileId>(&self, path: &str, body: &Value) -> Result<I, OneFileError> {
        self.t
            .call(Method::POST, path, Some(body), Safety::Create, |e, r| {
                parse_new_id(e, &r.body).map(I::from_raw)
            })
            .await
    }

    /// `GET /Customer`: the customer the token belongs to (the connection test).
    pub async fn customer(&self) -> Result<Customer, OneFileError> {
        self.get_one("/Customer".to_string()).await
    }

    /// `POST /Organisation/Search`: the customer's centres.
    pub async fn centres(&self, customer_id: OfCustomerId) -> Result<Vec<Centre>, OneFileError> {
        let body = Body::new().id(f::CUSTOMER_ID, customer_id).build();
        self.t.search_unpaged("/Organisation/Search", &body).await
    }

    /// `POST /User/Search/{page}/{size}`: every matching user, archived ones included, over
    /// all pages. Only users that match the search exactly are returned
    /// ([`UserSearch::accepts`]): OneFile's MISID filter may be a "contains" match, and `L1`
    /// must never find `L10` (R12, R14).
    pub async fn search_users(&self, q: &UserSearch) -> Result<Vec<User>, OneFileError> {
        let found: Vec<User> = self.t.search_all("/User/Search", &q.to_wire()).await?;
        Ok(keep("POST /User/Search", found, |u| q.accepts(u)))
    }

    /// `GET /User/{id}`: the full record.
    pub async fn get_user(&self, id: OfUserId) -> Result<User, OneFileError> {
        self.get_one(format!("/User/{id}")).await
    }

    /// `POST /User`: creates a user and returns it (a reply holding only the new id is
    /// followed by a read of the user).
    pub async fn create_user(&self, u: &NewUser) -> Result<User, OneFileError> {
        let created = self
            .t
            .call(
                Method::POST,
                "/User",
                Some(&u.to_wire()),
                Safety::Create,
                |e, r| match parse_object(e, &r.body) {
                    Ok(Some(m)) if m.len() > 1 => {
                        User::from_map(e, &m).map(|u| Created::Record(Box::new(u)))
                    }
                    _ => parse_new_id(e, &r.body).map(|id| Created::Id(OfUserId::from_raw(id))),
                },
            )
            .await?;
        match created {
            Created::Record(user) => Ok(*user),
            Created::Id(id) => self.get_user(id).await,
        }
    }

    /// `POST /User/{id}`: a partial update (only the fields set are sent).
    pub async fn update_user(&self, id: OfUserId, u: &UserUpdate) -> Result<(), OneFileError> {
        self.post_update(&format!("/User/{id}"), &u.to_wire()).await
    }

    /// `POST /User/{id}/Assign`: assigns the assessor or employer `user_id` to a learner.
    pub async fn assign_user(&self, user_id: OfUserId, a: &Assignment) -> Result<(), OneFileError> {
        self.post_update(&format!("/User/{user_id}/Assign"), &a.to_wire())
            .await
    }

    /// `POST /Classroom/Search`: the centre's classrooms.
    pub async fn classrooms(
        &self,
        organisation_id: OfCentreId,
    ) -> Result<Vec<Classroom>, OneFileError> {
        let body = Body::new().id(f::ORGANISATION_ID, organisation_id).build();
        self.t.search_unpaged("/Classroom/Search", &body).await
    }

    /// `POST /Classroom`: creates a classroom; returns its id.
    pub async fn create_classroom(&self, c: &NewClassroom) -> Result<OfClassroomId, OneFileError> {
        self.create_id("/Classroom", &c.to_wire()).await
    }

    /// `POST /Placement/Search`: the centre's placements.
    pub async fn placements(
        &self,
        organisation_id: OfCentreId,
    ) -> Result<Vec<Placement>, OneFileError> {
        let body = Body::new().id(f::ORGANISATION_ID, organisation_id).build();
        self.t.search_unpaged("/Placement/Search", &body).await
    }

    /// `GET /Placement/{id}`.
    pub async fn get_placement(&self, id: OfPlacementId) -> Result<Placement, OneFileError> {
        self.get_one(format!("/Placement/{id}")).await
    }

    /// `POST /Placement`: creates a placement; returns its id.
    pub async fn create_placement(&self, p: &NewPlacement) -> Result<OfPlacementId, OneFileError> {
        self.create_id("/Placement", &p.to_wire()).await
    }

    /// `POST /Placement/{id}`: a partial update.
    pub async fn update_placement(
        &self,
        id: OfPlacementId,
        p: &PlacementUpdate,
    ) -> Result<(), OneFileError> {
        self.post_update(&format!("/Placement/{id}"), &p.to_wire())
            .await
    }

    /// `POST /Standard/Search`: learning aims available to the centre, with codes and pathways.
    pub async fn standards(
        &self,
        organisation_id: OfCentreId,
    ) -> Result<Vec<Standard>, OneFileError> {
        let body = Body::new().id(f::ORGANISATION_ID, organisation_id).build();
        self.t.search_unpaged("/Standard/Search", &body).await
    }

    /// `POST /Standard/{id}/Assign/{learnerId}`: assigns a standard (on a pathway, when given)
    /// to a learner; returns the new learning aim's id.
    pub async fn assign_standard(
        &self,
        standard_id: OfStandardId,
        learner_id: OfUserId,
        pathway_id: Option<OfPathwayId>,
    ) -> Result<OfAimId, OneFileError> {
        let body = Body::new().opt_id(f::PATHWAY_ID, pathway_id).build();
        self.create_id(
            &format!("/Standard/{standard_id}/Assign/{learner_id}"),
            &body,
        )
        .await
    }

    /// `POST /LearningAim/Search`: every learning aim of a user. The unpaged search "returns
    /// every match" (Doc), which costs one call per learner with no paging ambiguity.
    /// Only the user's own learning aims are returned, whatever OneFile did with the filter
    /// (`owned_by`).
    pub async fn learning_aims(&self, user_id: OfUserId) -> Result<Vec<LearningAim>, OneFileError> {
        let body = Body::new().id(f::USER_ID, user_id).build();
        let found = self.t.search_unpaged("/LearningAim/Search", &body).await?;
        Ok(owned_by("POST /LearningAim/Search", found, user_id, |a| {
            a.user_id
        }))
    }

    /// `GET /LearningAim/{id}`.
    pub async fn get_learning_aim(&self, id: OfAimId) -> Result<LearningAim, OneFileError> {
        self.get_one(format!("/LearningAim/{id}")).await
    }

    /// `POST /LearningAim/{id}`: a partial update.
    ///
    /// OneFile accepts keys it does not know, so a wrong **Assumed** field name would be
    /// "written" with success and stored nowhere (and read later as "cleared in OneFile", R40).
    /// The first write of each Assumed field by this client (and its clones: in the worker, one
    /// client per tenant per process) is therefore read back once. A value that did not stick
    /// gives [`OneFileError::Ignored`] naming the field, and from then on any update carrying
    /// that field is refused with the same error before anything is sent.
    pub async fn update_learning_aim(
        &self,
        id: OfAimId,
        u: &LearningAimUpdate,
    ) -> Result<(), OneFileError> {
        let path = format!("/LearningAim/{id}");
        let endpoint = format!("POST {path}");
        let sent = u.assumed();
        let unchecked: Vec<_> = {
            let known = self
                .assumed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((field, _)) = sent.iter().find(|(n, _)| known.get(n) == Some(&false)) {
                return Err(OneFileError::Ignored {
                    endpoint,
                    field: (*field).to_string(),
                });
            }
            sent.into_iter()
                .filter(|(n, _)| !known.contains_key(n))
                .collect()
        };
        self.post_update(&path, &u.to_wire()).await?;
        if unchecked.is_empty() {
            return Ok(());
        }
        let stored = self.get_learning_aim(id).await?;
        let mut ignored = None;
        let mut known = self
            .assumed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (field, value) in unchecked {
            let stuck = stored.assumed(field) == Some(value);
            if !stuck {
                tracing::error!(call = %endpoint, field, "OneFile did not store an Assumed field written with success; the field name is probably wrong");
                ignored.get_or_insert(field);
            }
            known.insert(field, stuck);
        }
        match ignored {
            Some(field) => Err(OneFileError::Ignored {
                endpoint,
                field: field.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// `POST /Visit`: creates a visit; returns its id.
    pub async fn create_visit(&self, v: &NewVisit) -> Result<OfVisitId, OneFileError> {
        self.create_id("/Visit", &v.to_wire()).await
    }

    /// `POST /Visit/Search`: every visit of a learner (**Assumed** endpoint: OneFile's search
    /// convention applied to visits), to find a visit created before a crash (§7). Only
    /// the learner's own visits are returned (`owned_by`). A OneFile without this endpoint
    /// answers [`OneFileError::NotFound`].
    pub async fn search_visits(&self, learner_id: OfUserId) -> Result<Vec<Visit>, OneFileError> {
        let body = Body::new().id(f::LEARNER_ID, learner_id).build();
        let found = self.t.search_unpaged("/Visit/Search", &body).await?;
        Ok(owned_by("POST /Visit/Search", found, learner_id, |v| {
            v.learner_id
        }))
    }

    /// `POST /Review`: creates a review (`Status: 1`); returns its id.
    pub async fn create_review(&self, r: &NewReview) -> Result<OfReviewId, OneFileError> {
        self.create_id("/Review", &r.to_wire()).await
    }

    /// `POST /Review/Search`: every matching review. A search for one learner uses the
    /// unpaged search (one call); wider searches page (`/Review/Search/{page}/{size}`).
    /// A search for one learner returns only that learner's reviews (`owned_by`).
    pub async fn search_reviews(&self, q: &ReviewSearch) -> Result<Vec<Review>, OneFileError> {
        match q.learner_id {
            Some(learner) => {
                let found = self
                    .t
                    .search_unpaged("/Review/Search", &q.to_wire())
                    .await?;
                Ok(owned_by("POST /Review/Search", found, learner, |r| {
                    r.learner_id
                }))
            }
            None => self.t.search_all("/Review/Search", &q.to_wire()).await,
        }
    }

    /// Issue 16: every review of a centre's learners in one paged read
    /// (`POST /Review/Search/{page}/{size}` with `OrganisationID`), instead of one search per
    /// learner. `learners` are the centre's learners (the run's `User/Search` listing).
    ///
    /// Every record is guarded by its owner, whatever OneFile did with the filter: a review
    /// whose `OrganisationID` (when served) is another centre's, whose learner is not one of
    /// `learners`, or that names no learner, is dropped and counted in [`CentreReviews`], with
    /// a warning. Whether OneFile honours the filter and pages consistently is undocumented:
    /// the answer carries what the pages showed, and the caller decides whether to trust it.
    pub async fn centre_reviews(
        &self,
        organisation_id: OfCentreId,
        learners: &HashSet<OfUserId>,
    ) -> Result<CentreReviews, OneFileError> {
        self.centre_reviews_scheduled(organisation_id, learners, None)
            .await
    }

    /// [`Self::centre_reviews`] narrowed to the reviews scheduled within `window` (`DateFrom`,
    /// `DateTo`; inclusive), when one is given: the periodic runs' change detection (issue 16).
    /// A review with no scheduled date is outside every window.
    pub async fn centre_reviews_scheduled(
        &self,
        organisation_id: OfCentreId,
        learners: &HashSet<OfUserId>,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<CentreReviews, OneFileError> {
        let q = ReviewSearch {
            organisation_id: Some(organisation_id),
            date_from: window.map(|w| w.0),
            date_to: window.map(|w| w.1),
            ..ReviewSearch::default()
        };
        let (found, paging): (Vec<Review>, _) = self
            .t
            .search_checked("/Review/Search", &q.to_wire())
            .await?;
        let served = found.len();
        let mut out = CentreReviews {
            paging,
            served,
            ..CentreReviews::default()
        };
        for r in found {
            match r.learner_id {
                None => out.unowned += 1,
                Some(l) if !learners.contains(&l) => out.foreign += 1,
                Some(_) if r.organisation_id.is_some_and(|o| o != organisation_id) => {
                    out.foreign += 1;
                }
                Some(_) => out.reviews.push(r),
            }
        }
        if out.foreign + out.unowned > 0 {
            tracing::warn!(
                call = "POST /Review/Search/{page}/{size}",
                organisation = %organisation_id,
                foreign = out.foreign,
                unowned = out.unowned,
                kept = out.reviews.len(),
                "OneFile's centre-wide review search served reviews of learners outside the centre (or of none); dropped"
            );
        }
        if !paging.consistent() {
            tracing::warn!(
                call = "POST /Review/Search/{page}/{size}",
                organisation = %organisation_id,
                pages = paging.pages,
                repeated = paging.repeated,
                oversized_pages = paging.oversized_pages,
                "OneFile's centre-wide review search paged inconsistently"
            );
        }
        Ok(out)
    }

    /// `GET /Review/{id}`.
    pub async fn get_review(&self, id: OfReviewId) -> Result<Review, OneFileError> {
        self.get_one(format!("/Review/{id}")).await
    }
}

/// The records of a search that match what was asked; the others are dropped and logged
/// (whether OneFile's filters are exact is undocumented: the crate page, "Conventions").
fn keep<T>(endpoint: &str, found: Vec<T>, matches: impl Fn(&T) -> bool) -> Vec<T> {
    let before = found.len();
    let kept: Vec<T> = found.into_iter().filter(|x| matches(x)).collect();
    if kept.len() < before {
        tracing::warn!(
            call = endpoint,
            dropped = before - kept.len(),
            kept = kept.len(),
            "OneFile returned records its search filter should have excluded; dropped"
        );
    }
    kept
}

/// The records of a search filtered by owner (`UserID`, `LearnerID`) that belong to `owner`.
///
/// **Decision**: a record that does not say its owner is kept, unless the same answer holds a
/// record of another owner. The owner fields are Seen on every record, and the filter was sent,
/// so a record without one is the owner's unless the answer itself shows that OneFile ignored
/// the filter; dropping such records outright would make a learner's reviews invisible, and a
/// review upload resumed after a crash could then no longer find its review and would create
/// it twice (§7).
fn owned_by<T>(
    endpoint: &str,
    found: Vec<T>,
    owner: OfUserId,
    of: impl Fn(&T) -> Option<OfUserId>,
) -> Vec<T> {
    let filter_ignored = found.iter().any(|x| of(x).is_some_and(|o| o != owner));
    keep(endpoint, found, |x| match of(x) {
        Some(o) => o == owner,
        None => !filter_ignored,
    })
}

/// A centre's reviews read in one paged search ([`OneFileClient::centre_reviews`]).
#[derive(Debug, Clone, Default)]
pub struct CentreReviews {
    /// The reviews of the centre's learners (each names one of them).
    pub reviews: Vec<Review>,
    /// Records served (after removing repeats across pages).
    pub served: usize,
    /// Dropped: another centre's, or of a learner not among the centre's.
    pub foreign: usize,
    /// Dropped: naming no learner.
    pub unowned: usize,
    /// What the pages showed.
    pub paging: PagingCheck,
}

/// What a create answered: the record, or only its id.
enum Created {
    Record(Box<User>),
    Id(OfUserId),
}

/// One record from a `GET`: no content is "not found".
fn read_record<T: FromWire>(endpoint: &str, reply: &Reply) -> Result<T, OneFileError> {
    if reply.is_no_content() {
        return Err(OneFileError::NotFound {
            endpoint: endpoint.to_string(),
        });
    }
    match parse_object(endpoint, &reply.body)? {
        Some(m) => T::from_map(endpoint, &m),
        None => Err(OneFileError::NotFound {
            endpoint: endpoint.to_string(),
        }),
    }
}
